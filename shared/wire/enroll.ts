// Enrollment by code: what `roamlink enroll` sends HQ (POST /v1/enroll over HTTPS) and what HQ answers.
import { z } from 'zod';
import { isWgKey } from '../wg.keys.js';

export const enrollRequestSchema = z.strictObject({
  /** The one-time code `roamlink vehicle add` printed (a secret: never logged, never in an error). */
  code: z.string().min(1).max(64),
  /** The vehicle's WireGuard public key, made on the vehicle. */
  public_key: z.string().refine(isWgKey, 'must be a WireGuard public key (44 characters of base64)'),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.strictObject({
  vehicle: z.string(),
  tunnel_address: z.string(),
  subnet: z.string(),
  site: z.string().nullable(),
  concentrator: z.strictObject({
    public_key: z.string(),
    tunnel_address: z.string(),
    /** The WireGuard port; the vehicle reaches it at the host it enrolled with unless told otherwise. */
    listen_port: z.number().int(),
    probe_port: z.number().int(),
    api_port: z.number().int(),
    /** HQ's LAN networks, routed through the tunnel. */
    routes: z.array(z.string()),
  }),
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;
