#!/usr/bin/env node
// Mini-programs cannot import files outside their project root, so each project gets its own copy of the
// shared client under lib/zsb-client/ (gitignored). Run after every change to mini_program_stub/client/:
//   node mini_program_stub/tools/vendor-client.mjs [--root <mini_program_stub dir>]
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECTS = ['wechat', 'alipay'];
const VENDOR_DIR = join('lib', 'zsb-client');
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

export function vendorClient(root) {
  const source = join(root, 'client');
  if (!existsSync(source)) throw new Error(`no shared client at ${source}`);
  const files = listFiles(source);
  for (const project of PROJECTS) {
    const target = join(root, project, VENDOR_DIR);
    // A file deleted from client/ must not linger in the copy and keep a stale import working.
    rmSync(target, { recursive: true, force: true });
    for (const file of files) {
      mkdirSync(dirname(join(target, file)), { recursive: true });
      cpSync(join(source, file), join(target, file));
    }
  }
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const root = parseRoot(process.argv.slice(2));
    const files = vendorClient(root);
    console.log(`vendored ${files.length} files of client/ into ${PROJECTS.map((p) => `${p}/${VENDOR_DIR}`).join(', ')}`);
  } catch (error) {
    console.error(`vendor-client: ${error.message}`);
    process.exit(1);
  }
}
