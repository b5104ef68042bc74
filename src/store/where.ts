/**
 * A WHERE clause built from optional filters, with named parameters: the one way filtered listings
 * (decisions, block events, alerts) turn a filter into SQL. Clauses are fixed text written by the caller;
 * values only ever travel as parameters.
 */
export class Where {
  private readonly clauses: string[] = [];
  readonly params: Record<string, unknown> = {};

  constructor(base?: string, params: Record<string, unknown> = {}) {
    if (base !== undefined) this.clauses.push(base);
    Object.assign(this.params, params);
  }

  /** Adds a clause and the parameters it names. */
  and(clause: string, params: Record<string, unknown> = {}): this {
    this.clauses.push(clause);
    Object.assign(this.params, params);
    return this;
  }

  /** Adds `clause` binding `@name` to `value`, only when a value is given. */
  andIf(name: string, value: unknown, clause = `${name} = @${name}`): this {
    return value === undefined ? this : this.and(clause, { [name]: value });
  }

  get size(): number {
    return this.clauses.length;
  }

  /** The conditions joined with AND, without the keyword; '1' when there are none. */
  get conditions(): string {
    return this.clauses.length ? this.clauses.join(' AND ') : '1';
  }

  /** `WHERE …`, or '' when there are no conditions. */
  toString(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}
