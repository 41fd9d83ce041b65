/** The owner's handle: the login email's local part, letters and digits only, lowercased. */
export function usernameFromEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = at === -1 ? email : email.slice(0, at);
  return local.toLowerCase().replace(/[^a-z0-9]/g, '') || 'user';
}
