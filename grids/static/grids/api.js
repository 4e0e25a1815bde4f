// A small client of the platform's REST API for the grid editor.
//
// Every call goes with the session cookie and the CSRF token; errors come back as `ApiError`
// carrying the API's `{"error": {"code", "message", "details"}}` (messages are already in the page
// language). A 403 `reauth_required` asks the user for the password once (`askPassword`), confirms
// it with POST /api/auth/reauth/ and retries the call. Handled errors are never logged to the
// console: the editor shows them to the user instead.

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function errorFrom(response, strings) {
  let body = null;
  try {
    body = await response.json();
  } catch { /* not JSON */ }
  const error = body && body.error;
  if (error && error.message) return new ApiError(response.status, error.code || "error", error.message, error.details);
  const fallback = {
    403: strings.forbidden, 404: strings.not_found, 409: strings.conflict,
  }[response.status] || (response.status >= 500 ? strings.server_error : strings.load_failed);
  return new ApiError(response.status, `http_${response.status}`, fallback, body || {});
}

/**
 * createApi({ base, reauthUrl, strings, askPassword }) → { get, post, patch, upload, download, url }
 * `askPassword(retryError)` resolves to a password or null (cancelled); `retryError` is the message
 * of the previous failed attempt, if any.
 */
export function createApi({ base, reauthUrl, strings, askPassword }) {
  const url = (path, params) => `${path.startsWith("/") ? path : base + path}${query(params)}`;

  async function send(method, path, { params, json, form, signal, raw } = {}) {
    const headers = { Accept: "application/json" };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    let response;
    try {
      response = await fetch(url(path, params), { method, headers, body, credentials: "same-origin", signal });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network_error", strings.network_error);
    }
    if (!response.ok) throw await errorFrom(response, strings);
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }

  async function reauthenticate() {
    let problem = "";
    for (;;) {
      const password = await askPassword(problem);
      if (password === null || password === undefined) return false;
      try {
        await send("POST", reauthUrl, { json: { password } });
        return true;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500 || error.status === 0) throw error;
        problem = error.message || strings.reauth_failed;
      }
    }
  }

  async function call(method, path, options) {
    try {
      return await send(method, path, options);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403 && error.code === "reauth_required" && askPassword) {
        if (await reauthenticate()) return send(method, path, options);
      }
      throw error;
    }
  }

  return {
    url,
    get: (path, params, options = {}) => call("GET", path, { ...options, params }),
    post: (path, json, options = {}) => call("POST", path, { ...options, json }),
    patch: (path, json, options = {}) => call("PATCH", path, { ...options, json }),
    upload: (path, form, options = {}) => call("POST", path, { ...options, form }),
    download: (path, params, options = {}) => call("GET", path, { ...options, params, raw: true }),
  };
}
