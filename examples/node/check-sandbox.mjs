// Checks that the transpiled component can open one directory and reads
// nothing of this process, then deletes a job next to a directory that it
// must not touch.
//
// Usage: node check-sandbox.mjs
//
// The check builds its own temporary tree, removed at the end:
//   ROOT/queue/job.txt      two jobs, each with a folder in ROOT/queue
//   ROOT/sibling/keep.txt   a file outside the queue
// It prints one line per check, "ok - ..." or "FAILED - ...", and exits
// with 0 only when every check passed.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

import { environment } from '@bytecodealliance/preview2-shim/cli';
import { _getPreopens, preopens } from '@bytecodealliance/preview2-shim/filesystem';

import {
  GUEST_PROGRAM_NAME,
  GUEST_VIDEO_DIR,
  configureSandbox,
  guestEnvironment,
  loadDeleteInterface,
} from './sandbox.mjs';

const SEPARATOR = '$###$';
const SIBLING_CONTENT = 'outside the queue\n';

function jobLine(id, status, createdAt) {
  const fields = [id, status, String(createdAt), 'A presenter waves', '5', '720x1280', 'standard', '25',
    '5.0', '40', '5.0', '4.0', '42', 'False', '0', '', '', ''];
  return `${fields.join(SEPARATOR)}\n`;
}

function writeFixture(root) {
  const queue = path.join(root, 'queue');
  const sibling = path.join(root, 'sibling');
  const deletedLine = jobLine('video_1764790000_0001', 'completed', 1764790000);
  const keptLine = jobLine('video_1764790100_0002', 'queued', 1764790100);
  mkdirSync(queue);
  mkdirSync(sibling);
  writeFileSync(path.join(queue, 'job.txt'), deletedLine + keptLine);
  for (const id of ['video_1764790000_0001', 'video_1764790100_0002']) {
    mkdirSync(path.join(queue, id));
    writeFileSync(path.join(queue, id, 'output.mp4'), `clip of ${id}`);
  }
  writeFileSync(path.join(sibling, 'keep.txt'), SIBLING_CONTENT);
  return { queue, sibling, keptLine };
}

/** Returns the error string that an `open-at` below the preopen throws, or null if it opened. */
function openAtError(descriptor, subpath) {
  try {
    descriptor.openAt({ symlinkFollow: false }, subpath, { directory: true }, { read: true });
    return null;
  } catch (error) {
    return error;
  }
}

async function runChecks(root) {
  const { queue, sibling, keptLine } = writeFixture(root);
  configureSandbox(queue);
  const checks = [];
  const check = (name, body) => checks.push({ name, body });

  check(`exactly one preopen, at ${GUEST_VIDEO_DIR}`, () => {
    // `preopens.getDirectories` is the function that the component imports
    // as wasi:filesystem/preopens#get-directories.
    assert.deepEqual(preopens.getDirectories().map(([, guestPath]) => guestPath), [GUEST_VIDEO_DIR]);
    assert.deepEqual(_getPreopens().map(([, guestPath]) => guestPath), [GUEST_VIDEO_DIR]);
  });
  check('the preopen rejects paths that leave it', () => {
    const [[descriptor]] = preopens.getDirectories();
    assert.equal(openAtError(descriptor, '..'), 'not-permitted');
    assert.equal(openAtError(descriptor, '../sibling'), 'not-permitted');
    assert.equal(openAtError(descriptor, sibling), 'not-permitted');
  });
  check('the environment is VIDEO_DIR, MODEL and SEP only', () => {
    assert.deepEqual(environment.getEnvironment(), Object.entries(guestEnvironment()));
  });
  check(`the arguments and working directory are ${GUEST_PROGRAM_NAME} and ${GUEST_VIDEO_DIR}`, () => {
    assert.deepEqual(environment.getArguments(), [GUEST_PROGRAM_NAME]);
    assert.equal(environment.initialCwd(), GUEST_VIDEO_DIR);
  });

  const deleteInterface = await loadDeleteInterface();
  check('deleteVideo removes a job and leaves the sibling directory', () => {
    const job = deleteInterface.deleteVideo('video_1764790000_0001');
    assert.equal(job.id, 'video_1764790000_0001');
    assert.equal(job.deleted, true);
    assert.equal(readFileSync(path.join(queue, 'job.txt'), 'utf8'), keptLine);
    assert.deepEqual(readdirSync(queue).sort(), ['job.txt', 'video_1764790100_0002']);
    assert.deepEqual(readdirSync(sibling), ['keep.txt']);
    assert.equal(readFileSync(path.join(sibling, 'keep.txt'), 'utf8'), SIBLING_CONTENT);
  });

  let failed = 0;
  for (const { name, body } of checks) {
    try {
      body();
      process.stdout.write(`ok - ${name}\n`);
    } catch (error) {
      failed += 1;
      const reason = error?.payload ? JSON.stringify(error.payload) : String(error?.message ?? error);
      process.stdout.write(`FAILED - ${name}: ${reason}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

const root = mkdtempSync(path.join(os.tmpdir(), 'video-delete-sandbox-'));
try {
  process.exitCode = await runChecks(root);
} catch (error) {
  process.stderr.write(`check-sandbox.mjs: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  if (existsSync(root)) {
    rmSync(root, { recursive: true, force: true });
  }
}
