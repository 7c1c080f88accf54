// The files of haproxy's run directory that the charm names in haproxy.cfg
// and talks to. Imports nothing, so that a hook can find the admin socket
// without loading the model.

/** The charm's own admin socket: actions, metrics and seamless reloads use it. */
export function adminSocketPath(runDir: string): string {
  return `${runDir}/admin.sock`;
}

/** Where the runtime state of servers waits across a reload (see serverStateFile.ts). */
export function serverStateFilePath(runDir: string): string {
  return `${runDir}/server-state`;
}
