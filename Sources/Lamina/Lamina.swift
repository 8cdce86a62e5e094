import CLaminaABI

/// Library-wide facts.
public enum Lamina {
  /// The library version, "MAJOR.MINOR.PATCH": `LAMINA_VERSION_STRING` of include/lamina.h,
  /// the one place the version is written.
  public static let version: String = LAMINA_VERSION_STRING
}
