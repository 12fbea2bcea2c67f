// What went wrong talking to the broker, in words an operator can act on. Pure.
// TLS errors come from Node (err.code), refusals from the broker (CONNACK / PUBACK reason codes:
// MQTT 5: 134 bad user name or password, 135 not authorized; MQTT 3.1.1: 4 and 5).

export type MqttCause = 'untrusted-ca' | 'expired-cert' | 'hostname-mismatch' | 'bad-credentials' | 'not-authorized' | 'tls' | 'unreachable' | 'other';

export interface MqttProblem {
  cause: MqttCause;
  /** A credential or configuration problem: retrying quickly will not fix it. */
  config: boolean;
  message: string;
}

const TLS_UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE']);

export function explainMqttError(e: { code?: unknown; message?: string }, during: 'connect' | 'publish' = 'connect'): MqttProblem {
  const code = e.code;
  const msg = e.message ?? String(e);
  if (typeof code === 'string') {
    if (TLS_UNTRUSTED.has(code)) return { cause: 'untrusted-ca', config: true, message: `the broker certificate is not signed by a trusted CA (${code}): check mqtt.caFile` };
    if (code === 'CERT_HAS_EXPIRED') return { cause: 'expired-cert', config: true, message: 'the broker certificate has expired (CERT_HAS_EXPIRED): renew it (docs/SECURITY.md)' };
    if (code === 'CERT_NOT_YET_VALID') return { cause: 'expired-cert', config: true, message: 'the broker certificate is not valid yet (CERT_NOT_YET_VALID): check the clocks' };
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { cause: 'hostname-mismatch', config: true, message: `the broker certificate does not name this host: ${msg} (use the host name in the certificate's subjectAltName in mqtt.url)` };
    if (/^ERR_SSL_|^ERR_TLS_/.test(code) || /alert|handshake|certificate/i.test(msg)) return { cause: 'tls', config: true, message: `TLS failed (${code}): ${msg}` };
    if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'ENETUNREACH'].includes(code)) return { cause: 'unreachable', config: false, message: `broker not reachable (${code}): ${msg}` };
  }
  if (typeof code === 'number') {
    if (code === 134 || (during === 'connect' && code === 4)) return { cause: 'bad-credentials', config: true, message: `the broker refused the user name or password (code ${code}): check mqtt.username and mqtt.password / passwordFile` };
    if (code === 135 || (during === 'connect' && code === 5))
      return during === 'connect'
        ? { cause: 'not-authorized', config: true, message: `the broker refused the connection: not authorized (code ${code}): check the credentials, client certificate and the broker's ACL` }
        : { cause: 'not-authorized', config: true, message: `the broker refused a publish: not authorized (code ${code}): the broker's ACL does not allow this device that topic` };
  }
  if (/not authori[sz]ed/i.test(msg)) return { cause: 'not-authorized', config: true, message: `not authorized: ${msg}` };
  if (/bad user ?name or password/i.test(msg)) return { cause: 'bad-credentials', config: true, message: `bad user name or password: ${msg}` };
  if (/certificate|self.signed|SSL|TLS/i.test(msg)) return { cause: 'tls', config: true, message: `TLS failed: ${msg}` };
  return { cause: 'other', config: false, message: msg };
}
