// The one wait helper lives with the server's test fixtures.
export { sleep, waitFor, within } from '@herald/server/testing';
