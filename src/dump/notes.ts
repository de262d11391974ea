// ELF notes as dumps carry them: NT_PRSTATUS per CPU ("CORE"), QEMU's CPU
// state ("QEMU"), VMCOREINFO. The dump layer only splits the blob into
// notes; what a note means is for the arch and kernel layers.

export interface Note {
  name: string;
  type: number;
  desc: Buffer;
  /** Where the note's data starts in the (logical) dump file, when known. */
  fileOffset?: number;
}

export const NT_PRSTATUS = 1;

const align4 = (n: number) => (n + 3) & ~3;

/** Split an ELF note blob; stops (and reports) at the first malformed note. */
export function parseNotes(blob: Buffer, problems?: string[], base?: number): Note[] {
  const notes: Note[] = [];
  let p = 0;
  while (p + 12 <= blob.length) {
    const namesz = blob.readUInt32LE(p);
    const descsz = blob.readUInt32LE(p + 4);
    const type = blob.readUInt32LE(p + 8);
    if (namesz === 0 && descsz === 0 && type === 0) break; // zero padding after the last note
    const nameAt = p + 12;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (namesz > 4096 || descAt + descsz > blob.length) {
      problems?.push(`malformed ELF note at ${base === undefined ? `offset ${p} of the notes` : `file offset ${base + p}`} (namesz ${namesz}, descsz ${descsz})`);
      break;
    }
    let name = blob.subarray(nameAt, nameAt + namesz).toString('latin1');
    const nul = name.indexOf('\0');
    if (nul >= 0) name = name.slice(0, nul);
    notes.push({ name, type, desc: blob.subarray(descAt, descAt + descsz), ...(base === undefined ? {} : { fileOffset: base + descAt }) });
    p = next;
  }
  return notes;
}
