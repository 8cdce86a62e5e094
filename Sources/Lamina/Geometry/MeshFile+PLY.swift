/// Stanford PLY, `ascii` and `binary_little_endian` (`binary_big_endian` is refused as
/// unsupported). The `vertex` element needs scalar `x`, `y`, `z` properties of any numeric
/// type; `nx`, `ny`, `nz`, when all present, become the mesh's normals; other properties
/// are skipped. The `face` element needs a list property `vertex_indices` (or
/// `vertex_index`) with an integer count type and an integer index type; polygons are
/// fan-triangulated; other properties are skipped. Other elements are skipped, lists
/// included.
extension MeshFile {
  /// A PLY scalar type.
  enum PLYType {
    case int8, uint8, int16, uint16, int32, uint32, float32, float64

    /// The type of a header name (both the classic and the sized spellings).
    init?(_ name: String) {
      switch name {
      case "char", "int8": self = .int8
      case "uchar", "uint8": self = .uint8
      case "short", "int16": self = .int16
      case "ushort", "uint16": self = .uint16
      case "int", "int32": self = .int32
      case "uint", "uint32": self = .uint32
      case "float", "float32": self = .float32
      case "double", "float64": self = .float64
      default: return nil
      }
    }

    /// Bytes in binary data.
    var size: Int {
      switch self {
      case .int8, .uint8: return 1
      case .int16, .uint16: return 2
      case .int32, .uint32, .float32: return 4
      case .float64: return 8
      }
    }

    var isInteger: Bool { self != .float32 && self != .float64 }
  }

  /// A property: a scalar, or a list (`countType` set) of `type` values.
  struct PLYProperty {
    var name: String
    var type: PLYType
    var countType: PLYType?
  }

  /// An element declared in the header.
  struct PLYElement {
    var name: String
    var count: Int
    var properties: [PLYProperty] = []

    /// Fewest bytes one instance takes in binary data (every list empty).
    var minimumBinarySize: Int {
      properties.reduce(0) { $0 + ($1.countType?.size ?? $1.type.size) }
    }
    /// Fixed binary size of one instance, or nil when it has a list.
    var fixedBinarySize: Int? {
      properties.contains { $0.countType != nil } ? nil : minimumBinarySize
    }
  }

  /// A parsed header.
  struct PLYHeader {
    var binary: Bool
    var elements: [PLYElement]
    /// Offset of the first data byte.
    var dataStart: Int
  }

  /// Largest PLY header read.
  static let maxPLYHeaderBytes = 1 << 20

  /// Parses the header lines up to and including `end_header`.
  static func parsePLYHeader(_ text: UnsafeBufferPointer<UInt8>) throws -> PLYHeader {
    var position = 0
    var line = 0
    var format: String?
    var elements: [PLYElement] = []
    while true {
      guard position < text.count, position < maxPLYHeaderBytes else {
        throw LaminaError.format(
          position >= maxPLYHeaderBytes
            ? "PLY header is longer than \(maxPLYHeaderBytes) bytes"
            : "PLY header has no end_header line")
      }
      line += 1
      var lineEnd = position
      while lineEnd < text.count && text[lineEnd] != 0x0A { lineEnd += 1 }
      guard lineEnd < text.count else {
        throw LaminaError.format("PLY header has no end_header line")
      }
      let words = String(
        decoding: UnsafeBufferPointer(rebasing: text[position..<lineEnd]), as: UTF8.self
      )
      .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
      position = lineEnd + 1
      if line == 1 {
        guard words == ["ply"] else {
          throw LaminaError.format("not a PLY file (no \"ply\" line first)")
        }
        continue
      }
      guard let keyword = words.first else { continue }
      switch keyword {
      case "comment", "obj_info":
        continue
      case "format":
        guard words.count == 3, format == nil else {
          throw LaminaError.format("PLY header line \(line): malformed format line")
        }
        guard words[2] == "1.0" else {
          throw LaminaError.format("PLY header line \(line): version \(words[2]) is not 1.0")
        }
        switch words[1] {
        case "ascii", "binary_little_endian": format = words[1]
        case "binary_big_endian":
          throw LaminaError(
            .unsupported, "PLY header line \(line): binary_big_endian PLY is not supported")
        default:
          throw LaminaError.format("PLY header line \(line): unknown format \"\(words[1])\"")
        }
      case "element":
        guard words.count == 3, let count = Int(words[2]), count >= 0, count <= Int(Int32.max)
        else {
          throw LaminaError.format("PLY header line \(line): malformed element line")
        }
        guard !elements.contains(where: { $0.name == words[1] }) else {
          throw LaminaError.format(
            "PLY header line \(line): element \"\(words[1])\" is declared twice")
        }
        elements.append(PLYElement(name: words[1], count: count))
      case "property":
        guard !elements.isEmpty else {
          throw LaminaError.format("PLY header line \(line): property before any element")
        }
        let property: PLYProperty
        if words.count == 5 && words[1] == "list" {
          guard let countType = PLYType(words[2]), countType.isInteger, let type = PLYType(words[3])
          else {
            throw LaminaError.format("PLY header line \(line): malformed list property")
          }
          property = PLYProperty(name: words[4], type: type, countType: countType)
        } else if words.count == 3, let type = PLYType(words[1]) {
          property = PLYProperty(name: words[2], type: type, countType: nil)
        } else {
          throw LaminaError.format("PLY header line \(line): malformed property line")
        }
        guard !elements[elements.count - 1].properties.contains(where: { $0.name == property.name })
        else {
          throw LaminaError.format(
            "PLY header line \(line): property \"\(property.name)\" is declared twice")
        }
        elements[elements.count - 1].properties.append(property)
      case "end_header":
        guard let format else { throw LaminaError.format("PLY header has no format line") }
        return PLYHeader(binary: format != "ascii", elements: elements, dataStart: position)
      default:
        throw LaminaError.format(
          "PLY header line \(line): unknown keyword \"\(keyword.prefix(40))\"")
      }
    }
  }

  /// Parses PLY bytes.
  public static func decodePLY(_ bytes: [UInt8]) throws -> TriangleMesh {
    try bytes.withUnsafeBufferPointer { text in
      let header = try parsePLYHeader(text)
      let data = UnsafeBufferPointer(rebasing: text[header.dataStart...])
      try checkCounts(header, dataBytes: data.count)
      if header.binary {
        var reader = PLYBinaryReader(data: UnsafeRawBufferPointer(data))
        return try decodePLYBody(header, &reader)
      } else {
        var reader = PLYTextReader(text: data)
        return try decodePLYBody(header, &reader)
      }
    }
  }

  /// Checks the header's counts against the limits and against what the data can hold,
  /// before anything is allocated for them.
  static func checkCounts(_ header: PLYHeader, dataBytes: Int) throws {
    var needed = 0
    for element in header.elements where !element.properties.isEmpty {
      // Binary: the fixed bytes of each instance; text: a token and a separator per value.
      let each = header.binary ? element.minimumBinarySize : 2 * element.properties.count
      let (bytes, o1) = element.count.multipliedReportingOverflow(by: each)
      let (sum, o2) = needed.addingReportingOverflow(bytes)
      guard !o1, !o2, sum <= dataBytes + 1 else {
        throw LaminaError.format(
          "PLY header declares \(element.count) \(element.name) elements, more than the "
            + "\(dataBytes) data bytes can hold")
      }
      needed = sum
    }
    if let v = header.elements.first(where: { $0.name == "vertex" }),
      v.count > Limits.maxMeshVertices
    {
      throw LaminaError(
        .outOfMemory, "PLY file has \(v.count) vertices; the limit is \(Limits.maxMeshVertices)")
    }
    if let f = header.elements.first(where: { $0.name == "face" }), f.count > Limits.maxMeshFaces {
      throw LaminaError(
        .outOfMemory, "PLY file has \(f.count) faces; the limit is \(Limits.maxMeshFaces)")
    }
  }

  /// Reads the elements in header order.
  static func decodePLYBody<Reader: PLYReader>(_ header: PLYHeader, _ reader: inout Reader) throws
    -> TriangleMesh
  {
    var vertices: [Float] = []
    var normals: [Float] = []
    var faces: [UInt32] = []
    var sawVertex = false
    for element in header.elements {
      switch element.name {
      case "vertex":
        sawVertex = true
        func scalar(_ name: String, required: Bool) throws -> Int? {
          guard let k = element.properties.firstIndex(where: { $0.name == name }) else {
            if required {
              throw LaminaError.format("PLY vertex element has no \"\(name)\" property")
            }
            return nil
          }
          guard element.properties[k].countType == nil else {
            throw LaminaError.format("PLY vertex property \"\(name)\" is a list")
          }
          return k
        }
        let xyz = try ["x", "y", "z"].map { try scalar($0, required: true)! }
        let n = try ["nx", "ny", "nz"].map { try scalar($0, required: false) }
        let normal = n.allSatisfy { $0 != nil } ? n.map { $0! } : nil
        vertices.reserveCapacity(3 * element.count)
        if normal != nil { normals.reserveCapacity(3 * element.count) }
        var row = [Double](repeating: 0, count: element.properties.count)
        for i in 0..<element.count {
          do {
            for (k, property) in element.properties.enumerated() {
              if let countType = property.countType {
                try reader.skipList(countType, property.type)
              } else {
                row[k] = try reader.value(property.type)
              }
            }
          } catch let e as LaminaError {
            throw LaminaError(e.code, "PLY vertex \(i): \(e.message)")
          }
          for k in xyz {
            let x = Float(row[k])
            guard x.isFinite else {
              throw LaminaError.format(
                "PLY vertex \(i): coordinate \(row[k]) is not a finite float")
            }
            vertices.append(x)
          }
          if let normal {
            for k in normal {
              let x = Float(row[k])
              guard x.isFinite else {
                throw LaminaError.format(
                  "PLY vertex \(i): normal component \(row[k]) is not finite")
              }
              normals.append(x)
            }
          }
        }
      case "face" where element.count > 0:
        guard
          let list = element.properties.firstIndex(where: {
            ($0.name == "vertex_indices" || $0.name == "vertex_index") && $0.countType != nil
          })
        else {
          throw LaminaError.format("PLY face element has no vertex_indices list property")
        }
        guard element.properties[list].type.isInteger else {
          throw LaminaError.format("PLY face vertex indices must have an integer type")
        }
        faces.reserveCapacity(3 * element.count)
        var polygon: [UInt32] = []
        for i in 0..<element.count {
          do {
            for (k, property) in element.properties.enumerated() {
              if k == list {
                let count = try reader.count(property.countType!)
                guard count >= 3 else {
                  throw LaminaError.format("a face needs 3 or more vertices, not \(count)")
                }
                try reader.reserve(count, of: property.type)
                polygon.removeAll(keepingCapacity: true)
                for _ in 0..<count {
                  let index = try reader.value(property.type)
                  guard index >= 0, index <= Double(UInt32.max) else {
                    throw LaminaError.format("vertex index \(Int64(index)) is out of range")
                  }
                  polygon.append(UInt32(index))
                }
                guard faces.count / 3 + count - 2 <= Limits.maxMeshFaces else {
                  throw LaminaError(.outOfMemory, "more than \(Limits.maxMeshFaces) triangles")
                }
                for j in 1..<(count - 1) {
                  faces.append(polygon[0])
                  faces.append(polygon[j])
                  faces.append(polygon[j + 1])
                }
              } else if let countType = property.countType {
                try reader.skipList(countType, property.type)
              } else {
                _ = try reader.value(property.type)
              }
            }
          } catch let e as LaminaError {
            throw LaminaError(e.code, "PLY face \(i): \(e.message)")
          }
        }
      default:
        do {
          try reader.skip(element)
        } catch let e as LaminaError {
          throw LaminaError(e.code, "PLY element \"\(element.name)\": \(e.message)")
        }
      }
    }
    guard sawVertex else { throw LaminaError.format("PLY file has no vertex element") }
    do {
      return try TriangleMesh(vertices: vertices, faces: faces, normals: normals)
    } catch let e as LaminaError {
      throw LaminaError.format("PLY: \(e.message)")
    }
  }

  /// PLY bytes for `mesh`: binary little-endian (default) or ASCII; `x y z` as floats, the
  /// normals as `nx ny nz` when the mesh has them, faces as `uchar int` lists.
  public static func encodePLY(_ mesh: TriangleMesh, binary: Bool = true) -> [UInt8] {
    let hasNormals = !mesh.normals.isEmpty
    var header = "ply\nformat \(binary ? "binary_little_endian" : "ascii") 1.0\n"
    header += "comment written by Lamina \(Lamina.version)\n"
    header +=
      "element vertex \(mesh.vertexCount)\nproperty float x\nproperty float y\nproperty float z\n"
    if hasNormals { header += "property float nx\nproperty float ny\nproperty float nz\n" }
    header += "element face \(mesh.faceCount)\nproperty list uchar int vertex_indices\nend_header\n"
    var out = Array(header.utf8)
    if binary {
      out.reserveCapacity(
        out.count + (hasNormals ? 24 : 12) * mesh.vertexCount + 13 * mesh.faceCount)
      func put(_ bits: UInt32) {
        let le = bits.littleEndian
        withUnsafeBytes(of: le) { out.append(contentsOf: $0) }
      }
      for i in 0..<mesh.vertexCount {
        for k in 0..<3 { put(mesh.vertices[3 * i + k].bitPattern) }
        if hasNormals { for k in 0..<3 { put(mesh.normals[3 * i + k].bitPattern) } }
      }
      for t in 0..<mesh.faceCount {
        out.append(3)
        for k in 0..<3 { put(mesh.faces[3 * t + k]) }
      }
    } else {
      for i in 0..<mesh.vertexCount {
        var line = "\(mesh.vertices[3 * i]) \(mesh.vertices[3 * i + 1]) \(mesh.vertices[3 * i + 2])"
        if hasNormals {
          line += " \(mesh.normals[3 * i]) \(mesh.normals[3 * i + 1]) \(mesh.normals[3 * i + 2])"
        }
        out.append(contentsOf: (line + "\n").utf8)
      }
      for t in 0..<mesh.faceCount {
        out.append(
          contentsOf: "3 \(mesh.faces[3 * t]) \(mesh.faces[3 * t + 1]) \(mesh.faces[3 * t + 2])\n"
            .utf8)
      }
    }
    return out
  }
}

/// Reads PLY data values one at a time; every read is bounds-checked.
protocol PLYReader {
  /// The next scalar as a double (exact for every PLY type; float32 text reads back the
  /// same float).
  mutating func value(_ type: MeshFile.PLYType) throws -> Double
  /// The next list count (an integer >= 0).
  mutating func count(_ type: MeshFile.PLYType) throws -> Int
  /// Fails early when `count` values of `type` cannot fit in what is left.
  func reserve(_ count: Int, of type: MeshFile.PLYType) throws
  /// Skips one list.
  mutating func skipList(_ countType: MeshFile.PLYType, _ type: MeshFile.PLYType) throws
  /// Skips every instance of an element.
  mutating func skip(_ element: MeshFile.PLYElement) throws
}

extension PLYReader {
  mutating func count(_ type: MeshFile.PLYType) throws -> Int {
    let c = try value(type)
    guard c >= 0, c <= Double(Int32.max) else {
      throw LaminaError.format("list count \(Int64(c)) is out of range")
    }
    return Int(c)
  }

  mutating func skipList(_ countType: MeshFile.PLYType, _ type: MeshFile.PLYType) throws {
    let n = try count(countType)
    try reserve(n, of: type)
    for _ in 0..<n { _ = try value(type) }
  }

  mutating func skip(_ element: MeshFile.PLYElement) throws {
    guard !element.properties.isEmpty else { return }
    for _ in 0..<element.count {
      for property in element.properties {
        if let countType = property.countType {
          try skipList(countType, property.type)
        } else {
          _ = try value(property.type)
        }
      }
    }
  }
}

/// Binary little-endian data.
struct PLYBinaryReader: PLYReader {
  let data: UnsafeRawBufferPointer
  var offset = 0

  init(data: UnsafeRawBufferPointer) { self.data = data }

  mutating func value(_ type: MeshFile.PLYType) throws -> Double {
    guard data.count - offset >= type.size else {
      throw LaminaError.format("the file ends in the middle of the data (offset \(offset))")
    }
    defer { offset += type.size }
    switch type {
    case .int8: return Double(data.load(fromByteOffset: offset, as: Int8.self))
    case .uint8: return Double(data.load(fromByteOffset: offset, as: UInt8.self))
    case .int16:
      return Double(Int16(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
    case .uint16:
      return Double(
        UInt16(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    case .int32:
      return Double(Int32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
    case .uint32:
      return Double(
        UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    case .float32:
      return Double(
        Float(
          bitPattern: UInt32(
            littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
    case .float64:
      return Double(
        bitPattern: UInt64(
          littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
    }
  }

  func reserve(_ count: Int, of type: MeshFile.PLYType) throws {
    guard count <= (data.count - offset) / type.size else {
      throw LaminaError.format("a list of \(count) values runs past the end of the file")
    }
  }

  mutating func skip(_ element: MeshFile.PLYElement) throws {
    guard !element.properties.isEmpty else { return }
    if let size = element.fixedBinarySize {
      // checkCounts has verified count * size fits in the data; the offset may have moved.
      let (bytes, overflow) = element.count.multipliedReportingOverflow(by: size)
      guard !overflow, bytes <= data.count - offset else {
        throw LaminaError.format("the file ends in the middle of the data (offset \(offset))")
      }
      offset += bytes
      return
    }
    for _ in 0..<element.count {
      for property in element.properties {
        if let countType = property.countType {
          let n = try count(countType)
          try reserve(n, of: property.type)
          offset += n * property.type.size
        } else {
          guard data.count - offset >= property.type.size else {
            throw LaminaError.format("the file ends in the middle of the data (offset \(offset))")
          }
          offset += property.type.size
        }
      }
    }
  }
}

/// ASCII data: whitespace-separated tokens (line breaks are not significant).
struct PLYTextReader: PLYReader {
  let text: UnsafeBufferPointer<UInt8>
  var offset = 0

  init(text: UnsafeBufferPointer<UInt8>) { self.text = text }

  mutating func token() throws -> UnsafeBufferPointer<UInt8> {
    while offset < text.count && (MeshFile.isBlank(text[offset]) || text[offset] == 0x0A) {
      offset += 1
    }
    guard offset < text.count else {
      throw LaminaError.format("the file ends in the middle of the data")
    }
    let start = offset
    while offset < text.count && !MeshFile.isBlank(text[offset]) && text[offset] != 0x0A {
      offset += 1
    }
    return UnsafeBufferPointer(rebasing: text[start..<offset])
  }

  mutating func value(_ type: MeshFile.PLYType) throws -> Double {
    let t = try token()
    switch type {
    case .float32:
      guard let x = MeshFile.float(t) else {
        throw LaminaError.format("\"\(MeshFile.excerpt(t))\" is not a number")
      }
      return Double(x)
    case .float64:
      guard let x = MeshFile.double(t) else {
        throw LaminaError.format("\"\(MeshFile.excerpt(t))\" is not a number")
      }
      return x
    default:
      guard let i = MeshFile.integer(t), i >= type.minimum, i <= type.maximum else {
        throw LaminaError.format(
          "\"\(MeshFile.excerpt(t))\" is not an integer of the declared type")
      }
      return Double(i)
    }
  }

  func reserve(_ count: Int, of type: MeshFile.PLYType) throws {
    // Each value takes at least two bytes (a digit and a separator), the last one one.
    guard count <= (text.count - offset + 1) / 2 else {
      throw LaminaError.format("a list of \(count) values runs past the end of the file")
    }
  }
}

extension MeshFile.PLYType {
  /// Range of an integer type (text values outside it are malformed).
  var minimum: Int {
    switch self {
    case .int8: return Int(Int8.min)
    case .int16: return Int(Int16.min)
    case .int32: return Int(Int32.min)
    default: return 0
    }
  }
  var maximum: Int {
    switch self {
    case .int8: return Int(Int8.max)
    case .uint8: return Int(UInt8.max)
    case .int16: return Int(Int16.max)
    case .uint16: return Int(UInt16.max)
    case .int32: return Int(Int32.max)
    default: return Int(UInt32.max)
    }
  }
}
