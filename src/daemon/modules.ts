// The one place allowed to import a context's module.ts directly (see test/unit/arch-layering.test.ts):
// module.ts files are light (their start loads the rest), so reading the config does not load every server.
import { apiModule, apiSocketDefault } from '../api/module.js';
import { clientsModule } from '../clients/module.js';
import { crowdsecModule } from '../crowdsec/module.js';
import { decisionsModule } from '../decisions/module.js';
import { dnsModule } from '../dns/module.js';
import { feedsModule } from '../feeds/module.js';
import { firewallDefaults, firewallModule, type FirewallOptions } from '../firewall/module.js';
import { portalModule } from '../portal/module.js';
import { shaperModule } from '../shaper/module.js';
import { webModule } from '../web/module.js';
import { notifyModule } from '../notify/module.js';
import { metricsModule } from '../metrics/module.js';

/**
 * THE module list. A new capability is its own folder exporting a Module from its index.ts, plus one
 * line here. Order matters only for the config: sections appear in `config check`'s "allowed here" in
 * this order (api first, as admins know it); start order follows each module's `after`/`requires`.
 */
export function gatehouseModules(opts: { readonly firewall?: FirewallOptions } = {}) {
  return [
    apiModule,
    decisionsModule,
    firewallModule(opts.firewall),
    clientsModule,
    feedsModule,
    crowdsecModule,
    dnsModule,
    shaperModule,
    portalModule,
    webModule,
    notifyModule,
    metricsModule,
  ] as const;
}

/** Defaults that need more than their own section, applied once the whole file is checked (config.ts). */
export { apiSocketDefault, firewallDefaults };

export type GatehouseModules = ReturnType<typeof gatehouseModules>;
