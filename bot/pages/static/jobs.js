// Talking to the HTTP API: upload a photo (POST /api/v1/jobs), then follow its job by polling
// its status URL with a growing delay until it is done or failed. No busy loop: one request
// at a time, 0.5 s growing to 4 s apart. The upload's answer carries the job's token: only
// status requests that send it back see the job's pictures.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 4000;
const MAX_FAILED_POLLS = 6;
const OFFLINE = "We couldn't reach the server. Check your connection and try again.";
const FALLBACK = "Something went wrong on our side. Please try again in a moment.";

/** A refusal from the API, carrying the server's friendly message and the HTTP status. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** The `error` text of a JSON error body, or a generic sentence when there is none. */
async function errorMessage(response) {
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("application/json")) {
    const body = await response.json().catch(() => null);
    if (body && typeof body.error === "string" && body.error) return body.error;
  }
  if (response.status === 413) return "That file is too large.";
  return FALLBACK;
}

function isAbort(error) {
  return error instanceof DOMException && error.name === "AbortError";
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new DOMException("Stopped", "AbortError"));
      },
      { once: true },
    );
  });
}

/** POST the form; resolves with {id, status, status_url, position, token} or throws ApiError. */
export async function submitJob(form, signal) {
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      signal,
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(OFFLINE, 0);
  }
  if (response.status !== 202) throw new ApiError(await errorMessage(response), response.status);
  return response.json();
}

/** Poll the accepted job until it is done or failed; `onUpdate` sees every status. A clip
 * polls at most `maxDelayMs` apart (its progress moves; a photo's wait is short anyway). */
export async function followJob(accepted, onUpdate, signal, maxDelayMs = MAX_DELAY_MS) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${accepted.token}` };
  let delay = FIRST_DELAY_MS;
  let failures = 0;
  for (;;) {
    await sleep(delay, signal);
    let response = null;
    try {
      response = await fetch(accepted.status_url, { headers, signal });
    } catch (error) {
      if (isAbort(error)) throw error;
    }
    if (response && response.ok) {
      failures = 0;
      const job = await response.json();
      onUpdate(job);
      if (job.status === "done" || job.status === "failed") return job;
      delay = Math.min(maxDelayMs, delay * 1.5);
      continue;
    }
    if (response && response.status >= 400 && response.status < 500 && response.status !== 429) {
      throw new ApiError(await errorMessage(response), response.status);
    }
    failures += 1;
    if (failures > MAX_FAILED_POLLS) {
      throw new ApiError(response ? await errorMessage(response) : OFFLINE, response?.status ?? 0);
    }
    delay = Math.min(MAX_DELAY_MS, delay * 2);
  }
}

export { isAbort };
