/**
 * A teacher request that failed for good: not retryable, or out of retries. The message names
 * the endpoint, the model, the HTTP status and what to check; never the key.
 */
export class ChatRequestError extends Error {
  constructor(
    message: string,
    readonly details: { endpoint: string; model: string; status?: number; attempts: number; retryable: boolean },
  ) {
    super(message);
    this.name = "ChatRequestError";
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

/** What to check for a failure the user can fix. */
export function hintFor(status: number | undefined, endpoint: string, keyFrom: string): string | undefined {
  switch (status) {
    case undefined:
      return `is the server running and reachable at ${endpoint}?`;
    case 401:
      return `check the API key (${keyFrom})`;
    case 403:
      return "the key is not allowed to use this model or endpoint";
    case 404:
      return "check base_url (OpenAI-compatible servers usually end in /v1) and the model name";
    case 429:
      return "the endpoint kept rate limiting: lower teacher.concurrency or set teacher.rpm / teacher.tpm";
    default:
      return undefined;
  }
}
