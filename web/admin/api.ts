// The admin API of the sync server that serves the console (same origin). Every call carries
// "Authorization: Bearer <token>"; every failure becomes an ApiError whose message is a sentence
// an operator can act on (the server's own message when it sent one).

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: the server could not be reached
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  // The token is missing or not valid for the site: the operator has to sign in again.
  get unauthorized(): boolean {
    return this.status === 401 || (this.status === 403 && this.code === "invalid_token");
  }
}

export class AdminApi {
  constructor(
    readonly site: string,
    private readonly token: string,
  ) {}

  // "/changes" -> "/v1/sites/<site>/changes"; "" -> the site itself.
  sitePath(path: string): string {
    return `/v1/sites/${encodeURIComponent(this.site)}${path}`;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>("DELETE", path);
  }

  // POSTs a file as it is, under its own name (the server reads the format from its extension
  // and names it in errors).
  upload<T>(path: string, file: File): Promise<T> {
    // A header carries Latin-1 only: anything else in the name becomes "-".
    const name = file.name.replace(/[^A-Za-z0-9._() -]/g, "-");
    return this.call<T>("POST", path, file, {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": `attachment; filename="${name}"`,
    });
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    raw?: Record<string, string>, // the body is sent as it is, with these headers
  ): Promise<T> {
    const url = this.sitePath(path);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      Accept: "application/json",
      ...raw,
    };
    if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? (body as BodyInit) : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      throw new ApiError(
        0,
        "unreachable",
        `Could not reach the server for ${method} ${url}; check that it is running.`,
      );
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const code = typeof error?.code === "string" ? error.code : `http_${res.status}`;
      const message =
        typeof error?.message === "string" && error.message
          ? error.message
          : `The server answered ${res.status} to ${method} ${url}.`;
      throw new ApiError(res.status, code, message);
    }
    if (text && parsed === null) {
      throw new ApiError(
        res.status,
        "invalid_response",
        `The server's answer to ${method} ${url} is not JSON.`,
      );
    }
    return parsed as T;
  }
}
