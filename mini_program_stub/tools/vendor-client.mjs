#!/usr/bin/env node
// Mini-programs cannot import files outside their project root, so each project gets its own copy of the
// shared client under lib/zsb-client/ and of the shared page logic (shared/: page definitions, GraphQL
// documents, the ui port) under lib/zsb-shared/, both gitignored. Run after every change to
// mini_program_stub/client/ or mini_program_stub/shared/:
//   node mini_program_stub/tools/vendor-client.mjs [--root <mini_program_stub dir>]
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECTS = ['wechat', 'alipay'];
// source folder (under the root) → where each project gets its copy.
const COPIES = [
  { source: 'client', target: join('lib', 'zsb-client') },
  { source: 'shared', target: join('lib', 'zsb-shared') },
];
// Unit tests run under node only; shipping them would bloat the mini-program package for nothing.
const EXCLUDED_DIRS = new Set(['test']);

function parseRoot(argv) {
  const index = argv.indexOf('--root');
  if (index >= 0) {
    if (!argv[index + 1]) throw new Error('--root needs a directory');
    return resolve(argv[index + 1]);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

function listFiles(dir, base = dir) {
  const files = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!EXCLUDED_DIRS.has(name)) files.push(...listFiles(path, base));
    } else {
      files.push(relative(base, path));
    }
  }
  return files;
}

// Returns the copied files, relative to the root (e.g. 'client/index.js'), once each (every project gets them all).
export function vendorClient(root) {
  // Check every source before touching a project, so a missing one leaves the old copies whole.
  for (const { source } of COPIES) {
    if (!existsSync(join(root, source))) throw new Error(`no ${source}/ at ${join(root, source)}`);
  }
  const copied = [];
  for (const { source, target } of COPIES) {
    const files = listFiles(join(root, source));
    for (const project of PROJECTS) {
      const destination = join(root, project, target);
      // A file deleted from the source must not linger in the copy and keep a stale import working.
      rmSync(destination, { recursive: true, force: true });
      for (const file of files) {
        mkdirSync(dirname(join(destination, file)), { recursive: true });
        cpSync(join(root, source, file), join(destination, file));
      }
    }
    copied.push(...files.map((file) => join(source, file)));
  }
  return copied;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const root = parseRoot(process.argv.slice(2));
    const files = vendorClient(root);
    const from = COPIES.map((copy) => `${copy.source}/`).join(' and ');
    const into = PROJECTS.map((project) => `${project}/lib/`).join(' and ');
    console.log(`vendored ${files.length} files of ${from} into ${into}`);
  } catch (error) {
    console.error(`vendor-client: ${error.message}`);
    process.exit(1);
  }
}
