// A lab kernel: the Debian image and headers packages fetched with
// `apt-get download` and unpacked with `dpkg -x` under the lab's cache —
// nothing is installed into the host's /boot or /lib/modules.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, LabError, kernelsFile, privateApt, aptDownload, aptHas, debDepends } from './host.js';

export interface LabKernel {
  /** Short name given on the command line ("6.1"). */
  name: string;
  release: string;
  /** The kernel image to boot. */
  vmlinuz: string;
  /** lib/modules/<release> of the unpacked image. */
  modules: string;
  /** The headers tree to build out-of-tree modules against (make -C). */
  build: string;
  dumpLevel: number;
  /** Package versions used (for the manifest). */
  packages: string[];
}

function metaRelease(aptOpts: string[], meta: string, cacheDir: string): string | null {
  try {
    const [deb] = aptDownload(aptOpts, [meta], path.join(cacheDir, 'meta', meta.replace('/', '_')));
    const dep = debDepends(deb!).find((d) => d.startsWith('linux-image-') && /\d/.test(d));
    return dep ? dep.replace(/^linux-image-/, '') : null;
  } catch {
    return null;
  }
}

export function prepareKernel(name: string, cacheDir: string, log: (s: string) => void): LabKernel {
  const k = kernelsFile().kernels[name];
  if (!k) throw new LabError(`unknown kernel ${name} (known: ${Object.keys(kernelsFile().kernels).join(', ')}; see datasets/lab/kernels.json)`);
  let release = k.release;
  const ready = path.join(cacheDir, 'kernels', release, 'ready.json');
  if (fs.existsSync(ready)) return JSON.parse(fs.readFileSync(ready, 'utf8')) as LabKernel;
  const aptOpts = privateApt(path.join(cacheDir, 'apt'), log);
  if (!aptHas(aptOpts, `linux-image-${release}`)) {
    const alt = metaRelease(aptOpts, `${k.fallbackMeta}/${k.suite}`, cacheDir);
    if (!alt) throw new LabError(`linux-image-${release} is not in the archive and ${k.fallbackMeta} names no replacement`);
    log(`linux-image-${release} has left the archive; using ${alt} (what ${k.fallbackMeta} depends on)`);
    release = alt;
    const again = path.join(cacheDir, 'kernels', release, 'ready.json');
    if (fs.existsSync(again)) return JSON.parse(fs.readFileSync(again, 'utf8')) as LabKernel;
  }
  const dir = path.join(cacheDir, 'kernels', release);
  const debs = path.join(cacheDir, 'debs');
  log(`fetching linux-image-${release} and its headers`);
  const [image, headers] = aptDownload(aptOpts, [`linux-image-${release}`, `linux-headers-${release}`], debs);
  // The arch headers depend on the common headers and the kbuild tools of the same build.
  const deps = debDepends(headers!).filter((d) => /^linux-(headers|kbuild)-/.test(d));
  const depDebs = aptDownload(aptOpts, deps, debs);
  const root = path.join(dir, 'root');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  for (const d of [image!, headers!, ...depDebs]) run('dpkg', ['-x', d, root], { what: `dpkg -x ${path.basename(d)}` });
  // The headers' Makefile includes the common tree by absolute path: point it into our root.
  const build = path.join(root, 'usr', 'src', `linux-headers-${release}`);
  const mk = path.join(build, 'Makefile');
  fs.writeFileSync(mk, fs.readFileSync(mk, 'utf8').replace(/include \/usr\/src\//g, `include ${path.join(root, 'usr', 'src')}/`));
  const vmlinuz = path.join(root, 'boot', `vmlinuz-${release}`);
  if (!fs.existsSync(vmlinuz)) throw new LabError(`${vmlinuz} missing from linux-image-${release}`);
  const lk: LabKernel = {
    name, release, vmlinuz, modules: path.join(root, 'lib', 'modules', release), build, dumpLevel: k.dumpLevel,
    packages: [image!, headers!, ...depDebs].map((d) => path.basename(d, '.deb')),
  };
  fs.writeFileSync(path.join(dir, 'ready.json'), JSON.stringify(lk, null, 1));
  return lk;
}
