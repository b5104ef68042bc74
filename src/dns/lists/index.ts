export { DOMAIN_LIST_FORMATS, type DomainListFormat } from './formats.js';
export { DomainListParser, parseDomainList, type DomainParseOptions, type ParsedDomainList } from './parse.js';
export { normalizeName, isWellKnownLocal, type NameProblem } from './name.js';
export { nameHash } from './hash.js';
export { ALLOW_EXACT, ALLOW_SUBTREE, BLOCK_EXACT, BLOCK_SUBTREE, RuleSet, asAllow, ruleFlag, type RuleAction, type RuleArrays, type RuleScope } from './rules.js';
export { DomainIndex, MAX_LISTS, type DomainMatch, type IndexSource, type ListMask } from './domain-index.js';
export { BUILTIN_GROUPS, SECURITY_CATEGORY, assignListIds, groupMasks, maskOf, problemKey, type ConfigProblem, type GroupDecl, type ListDecl, type ListRef, type ListRole } from './policy.js';
export { DNS_LIST_TYPES, dnsListArray, dnsListSchema, refineDnsLists, type DnsListConfig, type FileDnsListConfig, type UrlDnsListConfig } from './config.js';
export { DnsLists, guardInput, type DnsListStatus, type DnsListsConfig, type DnsListsDeps, type DnsListsLog } from './manager.js';
