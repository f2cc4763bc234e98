// Talks to the console server: the token from the page URL, actions with the token header, and
// the live event stream.
const TOKEN_KEY = 'archipelago-console-token';

function readToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    // Keep the token out of the address bar, history and screenshots.
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export const token = readToken();

export class ActionError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-archipelago-token': token ?? '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ActionError(res.status, data.error?.code ?? 'error', data.error?.message ?? res.statusText);
  return data as T;
}

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body);

export function openStream(handlers: Record<string, (data: any) => void>, onStatus: (s: 'live' | 'reconnecting') => void): EventSource {
  const es = new EventSource(`/api/stream?token=${encodeURIComponent(token ?? '')}`);
  for (const [event, fn] of Object.entries(handlers)) es.addEventListener(event, (e) => fn(JSON.parse((e as MessageEvent<string>).data)));
  es.onopen = () => onStatus('live');
  es.onerror = () => onStatus('reconnecting');
  return es;
}
