// The console API client: cookie session plus the X-CSRF-Token header (the value of the
// csrf_token cookie), as Dify's console sends it. A 401 tries one token refresh, then sends the
// user to the sign-in page.

export const BASE = '/console/api';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `Request failed (${status})`);
    this.status = status;
    this.code = (body && body.code) || 'unknown';
    this.params = body && body.params;
    this.body = body;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name || key === `__Host-${name}`) return decodeURIComponent(rest.join('='));
  }
  return '';
}

export function csrfHeaders() {
  const token = cookie('csrf_token');
  return token ? { 'X-CSRF-Token': token } : {};
}

let onUnauthorized = () => {};
/** What to do when the session is gone (set by the app: go to /signin). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

let refreshing = null;
async function refresh() {
  if (!refreshing) {
    refreshing = fetch(`${BASE}/refresh-token`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', ...csrfHeaders() },
      body: '{}',
    }).then((r) => r.ok).catch(() => false).finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Builds a path with a query string; arrays repeat the key (Dify's `document_id=a&document_id=b`). */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.append(key, value);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Calls the console API. `path` is relative to /console/api. Resolves to the parsed JSON (or null
 * for an empty body); rejects with ApiError.
 */
export async function api(method, path, body, { raw = false, retry = true, quiet401 = false, signal } = {}) {
  const headers = { ...csrfHeaders() };
  const init = { method, credentials: 'same-origin', headers, signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${BASE}${path}`, init);
  if (response.status === 401 && retry && !path.startsWith('/login') && !path.startsWith('/setup')) {
    if (await refresh()) return api(method, path, body, { raw, retry: false, quiet401, signal });
    if (!quiet401) onUnauthorized();
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path, query, opts) => api('GET', withQuery(path, query), undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const put = (path, body, opts) => api('PUT', path, body ?? {}, opts);
export const del = (path, query, opts) => api('DELETE', withQuery(path, query), undefined, opts);

/**
 * Uploads one file to POST /console/api/files/upload (multipart, source=datasets) with upload
 * progress (XMLHttpRequest: fetch has none). Resolves to the UploadFile; rejects with ApiError.
 */
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${BASE}/files/upload?source=datasets`);
    xhr.withCredentials = true;
    for (const [key, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(key, value);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = { message: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, { message: 'The connection failed.' })));
    xhr.addEventListener('abort', () => reject(new ApiError(0, { message: 'The upload was cancelled.' })));
    const form = new FormData();
    form.append('file', file, file.name);
    form.append('source', 'datasets');
    xhr.send(form);
  });
}

/** The workspace and profile of the signed-in user, cached for the page's life. */
export const session = { profile: null, workspace: null };

/** Roles allowed to edit datasets and apps, and to manage the workspace. */
export function can(what) {
  const role = session.workspace && session.workspace.role;
  switch (what) {
    case 'admin': return role === 'owner' || role === 'admin';
    case 'edit': return ['owner', 'admin', 'editor'].includes(role);
    case 'edit-datasets': return ['owner', 'admin', 'editor', 'dataset_operator'].includes(role);
    case 'apps': return role !== 'dataset_operator';
    default: return false;
  }
}
