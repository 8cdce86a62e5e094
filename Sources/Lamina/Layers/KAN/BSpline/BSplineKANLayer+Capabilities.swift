/// A B-spline KAN layer is what the sparsity regulariser scores (BSplineKANLayer+
/// Regularization.swift holds the scores).
extension BSplineKANLayer: SparsityRegularizable {}
