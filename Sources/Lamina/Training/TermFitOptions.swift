/// What `Trainer.fitTerms` does around its optimizer steps besides stepping: grid updates
/// of the model's B-spline KAN layers on one term's points, as pykan's PDE tutorials
/// (`model.update_grid_from_samples(x_interior)` every few steps of their training loop).
public struct TermFitOptions: Equatable, Sendable {
  /// Steps between grid updates: before step s (0-based) when s is a multiple of it and
  /// below `stopGridUpdateStep`; 0 (the default) never updates grids.
  public var gridUpdateEvery = 0
  /// The term whose points the grids follow (its index in the `LossTerms`; pykan's
  /// tutorials use the interior, PDE term's points).
  public var gridUpdateTerm = 0
  /// The first step (0-based) with no grid update any more (pykan's tutorials: 50).
  public var stopGridUpdateStep = Int.max
  /// pykan's `grid_eps`: 1 keeps the grid uniform, 0 puts knots at sample quantiles.
  public var gridEps = BSplineKANLayer.defaultGridEps

  /// No grid updates.
  public init() {}

  /// Grid updates every `gridUpdateEvery` steps before `stopGridUpdateStep`, from the points
  /// of term `gridUpdateTerm`.
  public init(
    gridUpdateEvery: Int, gridUpdateTerm: Int = 0, stopGridUpdateStep: Int = .max,
    gridEps: Double = BSplineKANLayer.defaultGridEps
  ) {
    self.gridUpdateEvery = gridUpdateEvery
    self.gridUpdateTerm = gridUpdateTerm
    self.stopGridUpdateStep = stopGridUpdateStep
    self.gridEps = gridEps
  }

  /// Whether the grids are updated before step `s` (0-based).
  public func updatesGrid(beforeStep s: Int) -> Bool {
    gridUpdateEvery > 0 && s % gridUpdateEvery == 0 && s < stopGridUpdateStep
  }

  /// Throws `.invalidArgument` for a negative period, a term index outside `terms`, or
  /// `gridEps` outside [0, 1]; `.unsupported` when updates are asked of a model without
  /// updatable grids (`Model.hasUpdatableGrid`).
  func check(_ terms: LossTerms, model: Model) throws {
    guard gridUpdateEvery >= 0 else {
      throw LaminaError.invalid(
        "fit_terms: gridUpdateEvery is \(gridUpdateEvery); it must be 0 (off) or more")
    }
    guard gridUpdateEvery > 0 else { return }
    guard terms.terms.indices.contains(gridUpdateTerm) else {
      throw LaminaError.invalid(
        "fit_terms: gridUpdateTerm is \(gridUpdateTerm); there are \(terms.terms.count) terms")
    }
    guard gridEps >= 0, gridEps <= 1 else {
      throw LaminaError.invalid("fit_terms: gridEps is \(gridEps); it must be in [0, 1]")
    }
    guard model.hasUpdatableGrid else {
      throw LaminaError(
        .unsupported,
        "fit_terms: grid updates need a model with B-spline KAN layers and no mixed-basis one")
    }
  }
}

extension TermFitOptions {
  /// Options from JSON (`lamina_trainer_fit_terms`'s options_json): "grid_update_every"
  /// (0: never), "grid_update_term" (0), "stop_grid_update_step" (absent: no limit),
  /// "grid_eps" (0.02); unknown keys are refused.
  public init(json: JSONValue) throws {
    let r = try JSONObjectReader(json, what: "fit_terms options")
    self.init()
    gridUpdateEvery = try r.int("grid_update_every", default: 0, min: 0, max: 1 << 40)
    gridUpdateTerm = try r.int("grid_update_term", default: 0, min: 0, max: 1 << 20)
    if r.value("stop_grid_update_step") != nil {
      stopGridUpdateStep = try r.int("stop_grid_update_step", min: 0, max: 1 << 40)
    }
    gridEps = try r.double("grid_eps", default: BSplineKANLayer.defaultGridEps, min: 0, max: 1)
    try r.finish()
  }
}
