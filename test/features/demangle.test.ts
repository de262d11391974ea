// Rust (v0, legacy) and Itanium C++ names as frames name them. Expected
// forms follow the published grammars (RFC 2603 for v0, the Itanium C++ ABI)
// and, for the kernel's own Rust, the title syzkaller gives the Rust binder
// report in its corpus (../shared/corpora/syzkaller-report-dev/report/748).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { demangle } from '../../features/demangle.js';
import { signatureFromConsole } from '../../features/signature.js';
import { CORPUS } from '../helpers/syzcorpus.js';

test('Rust v0: paths, inherent and trait impls, back-references, generics, closures', () => {
  assert.equal(demangle('_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref'), '<rust_binder::process::Process>::update_ref');
  assert.equal(demangle('_RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_sub_overflow'), 'core::panicking::panic_const::panic_const_sub_overflow');
  assert.equal(demangle('_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind'), '__rustc::rust_begin_unwind');
  assert.equal(
    demangle('_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmtCs43vyB533jt3_6kernel'),
    '<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt',
  );
  assert.equal(demangle('_RINvNtCs1234_4core3mem4swapRNtCsabc_6kernel4TypeEB4_'), 'core::mem::swap::<&kernel::Type>');
  assert.equal(demangle('_RNCNvCs1234_5crate4main0B3_'), 'crate::main::{closure#0}');
});

test('Rust legacy and Itanium C++', () => {
  assert.equal(demangle('_ZN4core9panicking9panic_fmt17h0123456789abcdefE'), 'core::panicking::panic_fmt');
  assert.equal(demangle('_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h9fcd5e6a1b8f6f24E'), 'std::rt::lang_start::{{closure}}');
  assert.equal(demangle('_ZN3foo3Bar6methodEi'), 'foo::Bar::method');
  assert.equal(demangle('_ZN3foo3BarC2Ev'), 'foo::Bar::Bar');
  assert.equal(demangle('_ZN3foo3BarD1Ev'), 'foo::Bar::~Bar');
  assert.equal(demangle('_Z5helloi'), 'hello');
  assert.equal(demangle('_ZNSt6vectorIiSaIiEE9push_backERKi'), 'std::vector<int, std::allocator<int>>::push_back');
});

test('names that are not mangled, or are garbage, come back unchanged and never throw', () => {
  for (const n of ['lab_holder', '_R', '_RNv', '_RB9999_', '_ZN', '_ZN3foo', '_RNvC' + '9'.repeat(40), '_R' + 'N'.repeat(5000) + 'v', '_Z' + 'N'.repeat(3000)]) {
    assert.equal(typeof demangle(n), 'string');
  }
  assert.equal(demangle('lab_holder'), 'lab_holder');
  assert.equal(demangle('_RNv'), '_RNv');
});

test('the Rust binder report of the syzkaller corpus is titled with the demangled function', () => {
  const raw = fs.readFileSync(path.join(CORPUS, '748'), 'latin1');
  const want = /^TITLE: (.*)$/m.exec(raw)![1]!;
  const sig = signatureFromConsole(raw.slice(raw.indexOf('\n\n') + 2), '748');
  assert.equal(sig.panic!.title, want);
  assert.ok(sig.panic!.frames.includes('<rust_binder::process::Process>::update_ref'));
});
