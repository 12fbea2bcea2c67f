// An error with a machine-readable code (reported on result topics, in the engine protocol, in tests).
export class CodedError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
