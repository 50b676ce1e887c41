// The HTTP API as this page calls it: same origin, with the credential the operator gave (the API
// key, or a token granting `$sys`), kept in sessionStorage — gone when the tab closes.

const keyName = 'chorus-admin-key';

export const credential = {
  get: () => sessionStorage.getItem(keyName) ?? '',
  set: (value) => sessionStorage.setItem(keyName, value),
  clear: () => sessionStorage.removeItem(keyName),
};

/** `{ status, ok, body }` (body: the JSON answer, or null); a network failure is status 0. */
export async function api(path, method = 'GET') {
  const key = credential.get();
  let response;
  try {
    response = await fetch(path, { method, cache: 'no-store', headers: key === '' ? {} : { authorization: `Bearer ${key}` } });
  } catch (err) {
    return { status: 0, ok: false, body: { message: `network error: ${err.message}` } };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON
  }
  return { status: response.status, ok: response.ok, body };
}

/** What went wrong, in a line: the API's message when it gave one. */
export function failure(result) {
  const message = typeof result.body?.message === 'string' ? result.body.message : '';
  return result.status === 0 ? message : `HTTP ${result.status}${message === '' ? '' : `: ${message}`}`;
}

/** A path segment: a topic name or a client id, percent-encoded. */
export const segment = (s) => encodeURIComponent(s);
