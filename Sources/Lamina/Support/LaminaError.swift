/// An error from the engine, with the category the C ABI reports as a `lamina_status`.
public struct LaminaError: Error, CustomStringConvertible, Equatable {
  /// The category of failure; its raw value is the C `lamina_status` code.
  public enum Code: Int32, Sendable {
    case invalidArgument = 1
    case shape = 2
    case io = 3
    case format = 4
    case numeric = 5
    case outOfMemory = 6
    case unsupported = 7
    case cancelled = 8
    case `internal` = 9
  }

  /// What kind of failure this is.
  public let code: Code
  /// A message naming the problem, for people.
  public let message: String

  /// Makes an error of `code` described by `message`.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }

  static func invalid(_ message: String) -> LaminaError { LaminaError(.invalidArgument, message) }
  static func shape(_ message: String) -> LaminaError { LaminaError(.shape, message) }
  static func format(_ message: String) -> LaminaError { LaminaError(.format, message) }
  static func numeric(_ message: String) -> LaminaError { LaminaError(.numeric, message) }
}

/// Bounds on every size that comes from input, so hostile input cannot exhaust memory.
/// The same numbers are documented in `include/lamina.h`.
public enum Limits {
  /// Features of any one layer's input or output.
  public static let maxWidth = 65536
  /// Layers in one model.
  public static let maxLayers = 1024
  /// Trainable scalars in one model.
  public static let maxParameters = 268_435_456
  /// `n` times the widest layer in one call.
  public static let maxBatchElements = 2_147_483_647
  /// Spec or config JSON text.
  public static let maxJSONBytes = 16_777_216
  /// Safetensors header.
  public static let maxHeaderBytes = 67_108_864
  /// Vertices in one triangle mesh.
  public static let maxMeshVertices = 67_108_864
  /// Triangles in one triangle mesh.
  public static let maxMeshFaces = 134_217_728
  /// Points of the cloud in one point-cloud query (its k-d tree takes 25 bytes a point).
  public static let maxPointCloudPoints = 67_108_864
  /// Floats an L-BFGS trainer keeps: (2 history_size + 11) x parameters (8 GiB).
  public static let maxLBFGSScalars = 2_147_483_648
}
