import { within } from './wait.js';
import { TestClient } from './ws-client.js';

/** The HTTP status of a refused WebSocket upgrade; fails if the upgrade succeeds or no answer comes. */
export async function refusedStatus(url: string, options: ConstructorParameters<typeof TestClient>[1] = {}): Promise<number> {
  const client = new TestClient(url, options);
  try {
    await within(client.opened(), 3000, 'answer to the upgrade');
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === undefined) throw err;
    return status;
  }
  client.close();
  throw new Error('the upgrade was accepted');
}
