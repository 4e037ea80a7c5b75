/** A start-up failure the user can fix (the port is taken, not allowed): printed as its message alone, exit code 1. */
export class StartError extends Error {
  override name = 'StartError';
}

/** The address `herald serve` could not listen on, in words, or null when the error is not about the address. */
export function listenFailure(err: unknown, host: string, port: number): StartError | null {
  const code = (err as { code?: string }).code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE') return new StartError(`cannot listen on ${where}: the port is already in use. Stop what runs there or set PORT (server.port) to a free port.`);
  if (code === 'EACCES') return new StartError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges). Set PORT (server.port) to 1024 or above.`);
  if (code === 'EADDRNOTAVAIL') return new StartError(`cannot listen on ${where}: no network interface has that address. Set HOST (server.host) to an address of this machine, or 0.0.0.0.`);
  return null;
}
