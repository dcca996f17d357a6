// The dev server's page script (served as /assets/page.js): sends the form as the API's JSON
// request, shows the API's own validation messages beside the field they name, follows a batch
// while it runs, and opens its view when it is done. On a batch's view, its Retry button posts to
// the retry route and follows the retry the same way; its Delete button deletes the batch.

type ApiError = { error: { code: string; message: string; field?: string } };
type Status = { batchId: string; status: string; requested?: number; done?: number; failed?: number };

const form = document.querySelector<HTMLFormElement>('#batch');
const statusLine = document.querySelector<HTMLElement>('#status');
const progress = document.querySelector<HTMLProgressElement>('#progress');

/** The form as a request body: only the fields filled in, numbers as numbers, ids as a list. */
function requestBody(data: FormData): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, raw] of data.entries()) {
    const value = String(raw).trim();
    if (value === '') continue;
    const input = form?.elements.namedItem(name);
    if (input instanceof HTMLInputElement && input.type === 'checkbox') body[name] = true;
    else if (input instanceof HTMLInputElement && input.type === 'number') body[name] = Number(value);
    else if (name === 'ids')
      body[name] = value
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean);
    else body[name] = value;
  }
  return body;
}

function say(text: string) {
  if (statusLine) statusLine.textContent = text;
}

function showError(error: ApiError['error']) {
  say(`${error.code}: ${error.message}`);
  const slot = error.field ? document.querySelector<HTMLElement>(`[data-error-for="${error.field}"]`) : null;
  if (slot) slot.textContent = error.message;
  const input = error.field ? document.querySelector<HTMLElement>(`#f-${error.field}`) : null;
  input?.setAttribute('aria-invalid', 'true');
  input?.focus();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function follow(batchId: string) {
  if (progress) progress.hidden = false;
  for (;;) {
    const status = (await (
      await fetch(`/batches/${batchId}`, { headers: { accept: 'application/json' } })
    ).json()) as Status;
    if (status.status === 'running' || status.status === 'accepted') {
      const total = status.requested ?? 0;
      say(`Batch ${batchId}: ${status.done ?? 0} of ${total} done (${status.failed ?? 0} failed)`);
      if (progress && total > 0) {
        progress.max = total;
        progress.value = status.done ?? 0;
      }
      await sleep(500);
      continue;
    }
    if (status.status === 'failed' || status.status === 'unfinished') {
      say(`Batch ${batchId} is ${status.status}`);
      return;
    }
    window.location.assign(`/batches/${batchId}/view`);
    return;
  }
}

form?.addEventListener('submit', async (event) => {
  event.preventDefault();
  for (const slot of document.querySelectorAll<HTMLElement>('[data-error-for]')) slot.textContent = '';
  for (const input of document.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  say('Starting...');
  const response = await fetch('/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(requestBody(new FormData(event.currentTarget as HTMLFormElement))),
  });
  const answer = (await response.json()) as ApiError | Status;
  if ('error' in answer) {
    showError(answer.error);
    return;
  }
  if (response.status === 202) {
    await follow(answer.batchId);
    return;
  }
  window.location.assign(`/batches/${answer.batchId}/view`);
});

const retryButton = document.querySelector<HTMLButtonElement>('#retry');
retryButton?.addEventListener('click', async () => {
  const batchId = retryButton.dataset.batch ?? '';
  retryButton.disabled = true;
  say('Retrying...');
  const response = await fetch(`/batches/${encodeURIComponent(batchId)}/retry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const answer = (await response.json()) as ApiError | Status;
  if ('error' in answer) {
    say(`${answer.error.code}: ${answer.error.message}`);
    retryButton.disabled = false;
    return;
  }
  if (response.status === 202) {
    await follow(batchId);
    return;
  }
  window.location.assign(`/batches/${encodeURIComponent(batchId)}/view`);
});

// A finished batch's Delete button: asks first, deletes every object of it, says what went, and
// goes back to the form (where the batch is no longer listed).
const deleteButton = document.querySelector<HTMLButtonElement>('#delete');
deleteButton?.addEventListener('click', async () => {
  const batchId = deleteButton.dataset.batch ?? '';
  if (!window.confirm(`Delete batch ${batchId}: its images, manifest and report?`)) return;
  deleteButton.disabled = true;
  const response = await fetch(`/batches/${encodeURIComponent(batchId)}`, { method: 'DELETE' });
  const answer = (await response.json()) as ApiError | { deleted: { images: number; documents: number } };
  if ('error' in answer) {
    say(`${answer.error.code}: ${answer.error.message}`);
    deleteButton.disabled = false;
    return;
  }
  say(`Deleted ${answer.deleted.images} image(s) and ${answer.deleted.documents} other object(s).`);
  window.location.assign('/');
});
