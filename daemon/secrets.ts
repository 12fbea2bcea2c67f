// What counts as a secret, for masking in --print-config, logs and error messages. Pure.
export { maskUrlPasswords } from '../pipelines/sources/process-source.js';

/** Is a key name one whose value is a secret? (password, clientSecret, apiToken, privateKey, api_key...) */
export function isSecretKey(k: string): boolean {
  const l = k.toLowerCase();
  if (/(password|passwd|passphrase|secret|token|credentials?|apikey|api_key|privatekey|private_key)$/.test(l)) return true;
  if (l === 'key' || l === 'pass' || l === 'pwd') return true;
  return /[a-z0-9]Key$/.test(k) || /[_-]key$/i.test(k); // camelCase fooKey, snake/kebab foo_key
}
