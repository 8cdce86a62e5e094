/// The field a row of a many-field model names by its index value (the row's first
/// column): the value itself when it is a whole number in `0..<fields`, else -1. The
/// encoding and the per-field decoder read rows with it.
@inline(__always)
func fieldIndex(_ v: Float, fields: Int) -> Int {
  guard v >= 0, v < Float(fields), v == v.rounded(.down) else { return -1 }
  return Int(v)
}
