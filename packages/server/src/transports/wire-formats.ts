import { dataWithPublisher, encodePublicationFrame } from '@herald/protocol';
import type { WireFormat } from '../core/outbound.js';

/** The native protocol's full `pub` frame, as bytes, so `ws` sends it without re-encoding per client. */
export const envelopeFormat: WireFormat = {
  name: 'envelope',
  encode: (publication) => Buffer.from(encodePublicationFrame(publication)),
};

/** Only the publication's data: for clients that expect their app's own JSON messages. */
export const dataFormat: WireFormat = {
  name: 'data',
  encode: (publication) => Buffer.from(JSON.stringify(dataWithPublisher(publication) ?? null)),
};
