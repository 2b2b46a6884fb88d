// Deletes one job through the component's typed export and prints the
// result as one line of JSON.
//
// Usage: node delete.mjs QUEUE_DIR VIDEO_ID
//
// The output is the body that `video-delete-host delete` prints: the deleted
// job on success, or {"error":{"code":...,"message":...}} with the HTTP
// status code of the error case. MODEL and SEP, when set, replace the model
// name and the job.txt separator, as they do for the host. No other variable
// of this process reaches the component.
//
// Exit codes, as for `video-delete-host delete`: 0 deleted; 1 the example
// failed (no transpiled component, a trap); 2 invalid command line; 3 not
// found or no job.txt; 4 the job is processing; 5 internal error.

import process from 'node:process';

import {
  DEFAULT_MODEL,
  DEFAULT_SEPARATOR,
  configureSandbox,
  loadDeleteInterface,
} from './sandbox.mjs';

const USAGE = 'usage: node delete.mjs QUEUE_DIR VIDEO_ID';

/** HTTP status code and exit code of each case of `delete-error`. */
const ERROR_CASES = {
  'queue-missing': { code: '404', exitCode: 3 },
  'not-found': { code: '404', exitCode: 3 },
  processing: { code: '400', exitCode: 4 },
  internal: { code: '500', exitCode: 5 },
};

/**
 * Serializes a `deleted-job` record in the field order and names of the
 * HTTP body. `created-at` and `duration` are s64, which jco passes as
 * BigInt, so they are written as their exact decimal digits.
 */
function deletedJobJson(job) {
  const fields = [
    ['id', JSON.stringify(job.id)],
    ['model', JSON.stringify(job.model)],
    ['status', JSON.stringify(job.status)],
    ['progress', String(job.progress)],
    ['created_at', job.createdAt.toString()],
    ['seconds', JSON.stringify(job.seconds)],
    ['duration', job.duration.toString()],
    ['estimated_time', String(job.estimatedTime)],
    ['queue_length', String(job.queueLength)],
    ['error', JSON.stringify(job.error)],
    ['object', JSON.stringify(job.object)],
    ['deleted', String(job.deleted)],
  ];
  return `{${fields.map(([name, value]) => `${JSON.stringify(name)}:${value}`).join(',')}}`;
}

/** Returns the `delete-error` value that jco throws as a ComponentError payload. */
function deleteErrorOf(thrown) {
  const payload = thrown?.payload;
  if (payload && Object.hasOwn(ERROR_CASES, payload.tag) && typeof payload.val === 'string') {
    return payload;
  }
  return null;
}

async function main(args) {
  if (args.length !== 2) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const [queueDir, videoId] = args;
  configureSandbox(queueDir, {
    model: process.env.MODEL ?? DEFAULT_MODEL,
    separator: process.env.SEP ?? DEFAULT_SEPARATOR,
  });
  const deleteInterface = await loadDeleteInterface();

  try {
    const job = deleteInterface.deleteVideo(videoId);
    process.stdout.write(`${deletedJobJson(job)}\n`);
    return 0;
  } catch (thrown) {
    const error = deleteErrorOf(thrown);
    if (error === null) {
      throw thrown;
    }
    const { code, exitCode } = ERROR_CASES[error.tag];
    process.stdout.write(`${JSON.stringify({ error: { code, message: error.val } })}\n`);
    return exitCode;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`delete.mjs: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
}
