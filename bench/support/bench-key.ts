import { loggedInUser } from '../../test/support/accounts';

/** Logs a bench user in through the real flow and creates one key over the API: the session token and the key text. */
export async function createBenchKey(
  keyServiceUrl: string,
  mongoUri: string,
  emailDomain: string,
): Promise<{ token: string; key: string }> {
  const token = await loggedInUser(mongoUri, `bench@${emailDomain}`);
  const created = await fetch(`${keyServiceUrl}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'bench', contacts: [`ops@${emailDomain}`] }),
  });
  if (created.status !== 201) throw new Error(`create answered ${created.status}`);
  return { token, key: ((await created.json()) as { key: string }).key };
}
