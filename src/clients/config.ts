import { z } from 'zod';
import { ALWAYS, field, flagDuplicates, macField, tryMac, type SectionFields } from '../config/index.js';

/** The `clients:` section: names for LAN devices in reports, and where DHCP leases are. */
export const clientsSection = (f: SectionFields) => {
  const clientName = z.strictObject({
    mac: macField(),
    name: z.string().min(1, 'must not be empty').max(63, 'at most 63 characters'),
  });
  return z
    .strictObject({
      names: z
        .array(clientName)
        .default([])
        .superRefine((names, ctx) => {
          flagDuplicates(names, (n) => tryMac(field(n, 'mac')), ctx, (i) => [i, 'mac'], 'MAC', (i) => `clients.names[${i}]`);
        }, ALWAYS),
      dhcp_leases: f.path().optional(),
    })
    .prefault({});
};

export type ClientsConfig = z.output<ReturnType<typeof clientsSection>>;
