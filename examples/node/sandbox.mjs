// The WASI setup of the transpiled video-delete component: one preopened
// directory and a fixed environment.
//
// @bytecodealliance/preview2-shim 0.26.1 keeps one WASI state per Node.js
// process. Its filesystem starts with no preopens, but until they are
// replaced `wasi:cli/environment` returns the real process environment,
// arguments and working directory. `configureSandbox` replaces all four, and
// it must run before `loadDeleteInterface`, because the module that jco
// generates instantiates the component when it is first imported.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { _setArgs, _setCwd, _setEnv } from '@bytecodealliance/preview2-shim/cli';
import { _setPreopens, types } from '@bytecodealliance/preview2-shim/filesystem';

/** The guest path of the queue directory, as the wasmtime host uses. */
export const GUEST_VIDEO_DIR = '/video';

export const DEFAULT_MODEL = 'InfinteTalk';
export const DEFAULT_SEPARATOR = '$###$';

/** The program name, the only argument that the component gets. */
export const GUEST_PROGRAM_NAME = 'video-delete';

const GENERATED_MODULE = fileURLToPath(new URL('./generated/video_delete.js', import.meta.url));

/**
 * Returns the environment variables that the component gets: VIDEO_DIR,
 * MODEL and SEP, and no variable of this process.
 */
export function guestEnvironment({ model = DEFAULT_MODEL, separator = DEFAULT_SEPARATOR } = {}) {
  return { VIDEO_DIR: GUEST_VIDEO_DIR, MODEL: model, SEP: separator };
}

// NOTE: preview2-shim 0.26.1 rejects `openAt` with the `mutate-directory`
// flag as unsupported, and the Rust standard library (through wasi-libc)
// sets that flag on every open for writing, so no delete could run. The
// shim has no directory-mutation permission to grant or withhold, so
// clearing the flag before it checks it changes nothing else.
const shimOpenAt = types.Descriptor.prototype.openAt;
types.Descriptor.prototype.openAt = function openAt(pathFlags, guestPath, openFlags, descriptorFlags) {
  return shimOpenAt.call(this, pathFlags, guestPath, openFlags, { ...descriptorFlags, mutateDirectory: false });
};

/**
 * Makes `queueDir` the only directory the component can open, at
 * GUEST_VIDEO_DIR, and replaces the environment, arguments and working
 * directory that the component reads. Returns the absolute host path.
 */
export function configureSandbox(queueDir, settings = {}) {
  const hostDir = path.resolve(queueDir);
  if (!existsSync(hostDir) || !statSync(hostDir).isDirectory()) {
    throw new Error(`queue directory ${hostDir} is not a directory; pass the directory that contains job.txt`);
  }
  _setPreopens({ [GUEST_VIDEO_DIR]: hostDir });
  _setEnv(guestEnvironment(settings));
  _setArgs([GUEST_PROGRAM_NAME]);
  _setCwd(GUEST_VIDEO_DIR);
  return hostDir;
}

/**
 * Imports the transpiled component and returns its typed
 * `video-delete:queue/delete` interface, which jco exports as `delete`.
 */
export async function loadDeleteInterface() {
  if (!existsSync(GENERATED_MODULE)) {
    throw new Error(
      `${GENERATED_MODULE} is missing; run \`npm ci\` and then \`npm run transpile\` in examples/node`,
    );
  }
  const component = await import(pathToFileURL(GENERATED_MODULE).href);
  return component.delete;
}
