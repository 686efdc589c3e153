/**
 * Named conversion errors: each bad-input case gets its own class so the CLI
 * (and the browser UI) can say precisely what is wrong with which file.
 */
export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The file is not a zip archive at all. */
export class NotAZipError extends ConvertError {}
/** The zip's directory or an entry runs past the end of the file. */
export class TruncatedFileError extends ConvertError {}
/** A zip, but not a torch checkpoint (no data.pkl, unreadable pickle, unexpected objects). */
export class NotACheckpointError extends ConvertError {}
/** A tensor dtype the converter cannot read. */
export class UnsupportedDtypeError extends ConvertError {}
/** Required state-dict keys are absent or unknown keys are present. */
export class KeyMismatchError extends ConvertError {}
/** A tensor's shape contradicts the config (or another tensor). */
export class ShapeMismatchError extends ConvertError {}
/** all_config.yaml is unreadable, lacks a field, or describes an unsupported model variant. */
export class ConfigError extends ConvertError {}
/** identifiers.json / task selection problems. */
export class IdentifiersError extends ConvertError {}
/** Options that do not make sense together. */
export class OptionsError extends ConvertError {}
