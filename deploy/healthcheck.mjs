// The image's HEALTHCHECK: exit 0 when this container's Herald answers GET /health with 200.
// The same PORT the server reads; 127.0.0.1 because the check runs inside the container.
const port = process.env.PORT || '5009';
const timeout = AbortSignal.timeout(2500);
try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: timeout });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
