import { request } from 'node:http';

/** A long-lived upload in progress: write lines, end the body, or wait for the answer. */
export interface UploadClient {
  write(line: string): void;
  end(): void;
  /** Drops the connection, as a backend that crashed mid-upload. */
  abort(): void;
  /** The status and parsed body, whenever the server answers (possibly before the body ended). */
  response: Promise<{ status: number; body: any; at: number }>;
}

/**
 * Opens `POST url` with a body that stays open until `end()`. node:http hands the answer over as
 * soon as it comes, body still open, as a backend piping a process's output sees it.
 */
export function openUpload(url: string, apiKey: string, contentType = 'application/x-ndjson'): UploadClient {
  const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType, 'transfer-encoding': 'chunked' } });
  const response = new Promise<{ status: number; body: any; at: number }>((resolve, reject) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body, at: performance.now() });
      });
    });
    req.on('error', (err) => (req.destroyed ? resolve({ status: 0, body: undefined, at: performance.now() }) : reject(err)));
  });
  req.flushHeaders();
  return {
    write: (line) => void req.write(line.endsWith('\n') ? line : `${line}\n`),
    end: () => void req.end(),
    abort: () => void req.destroy(),
    response,
  };
}
