/// Library-wide facts.
public enum Lamina {
  /// The library version, "MAJOR.MINOR.PATCH"; matches `LAMINA_VERSION_STRING` in lamina.h.
  public static let version = "0.2.0"
}
