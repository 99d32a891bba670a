//! A lattice of square cells over a city, nested two levels deep (a community cell holds 2 × 2 grid cells), and
//! the outline of any set of cells as a valid GeoJSON MultiPolygon (outer rings counter-clockwise, holes
//! clockwise, each hole in the polygon whose outer ring holds it).

use std::collections::{BTreeMap, BTreeSet};

/// The lattice: its origin and the size of a grid cell, in degrees.
#[derive(Debug, Clone, Copy)]
pub struct Lattice {
    pub west: f64,
    pub south: f64,
    pub dx: f64,
    pub dy: f64,
}

/// A cell's column and row.
pub type Cell = (i32, i32);

impl Lattice {
    /// A lattice whose grid cells are about `metres` wide at the latitude `lat`.
    pub fn new(west: f64, south: f64, lat: f64, metres: f64) -> Lattice {
        let dy = metres / 110_540.0;
        let dx = metres / (111_320.0 * lat.to_radians().cos().max(0.1));
        Lattice { west, south, dx, dy }
    }

    /// The grid cell holding a point.
    pub fn grid_cell(&self, lon: f64, lat: f64) -> Cell {
        (((lon - self.west) / self.dx).floor() as i32, ((lat - self.south) / self.dy).floor() as i32)
    }

    /// The community cell holding a grid cell (2 × 2 grid cells).
    pub fn community_of(grid: Cell) -> Cell {
        (grid.0.div_euclid(2), grid.1.div_euclid(2))
    }

    fn corner(&self, vertex: (i32, i32), scale: i32) -> [f64; 2] {
        let size = f64::from(scale);
        [self.west + f64::from(vertex.0) * size * self.dx, self.south + f64::from(vertex.1) * size * self.dy]
    }

    /// The outline of a set of cells (at `scale` grid cells per side) as GeoJSON MultiPolygon coordinates.
    pub fn outline(&self, cells: &BTreeSet<Cell>, scale: i32) -> Vec<Vec<Vec<[f64; 2]>>> {
        outline_rings(cells)
            .into_iter()
            .map(|polygon| polygon.into_iter().map(|ring| ring.into_iter().map(|v| self.corner(v, scale)).collect()).collect())
            .collect()
    }
}

const DIRECTIONS: [(i32, i32); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

fn direction_index(step: (i32, i32)) -> usize {
    DIRECTIONS.iter().position(|d| *d == step).unwrap_or(0)
}

/// Rings of the union of unit cells, in vertex coordinates, grouped into polygons (outer ring, then holes).
pub fn outline_rings(cells: &BTreeSet<Cell>) -> Vec<Vec<Vec<(i32, i32)>>> {
    // Every cell's edges, counter-clockwise, kept where the neighbour across is not in the set: the set is always
    // on the left of a kept edge.
    let mut edges: BTreeMap<(i32, i32), Vec<(i32, i32)>> = BTreeMap::new();
    for &(x, y) in cells {
        let sides = [
            ((x, y), (x + 1, y), (x, y - 1)),
            ((x + 1, y), (x + 1, y + 1), (x + 1, y)),
            ((x + 1, y + 1), (x, y + 1), (x, y + 1)),
            ((x, y + 1), (x, y), (x - 1, y)),
        ];
        for (from, to, neighbour) in sides {
            if !cells.contains(&neighbour) {
                edges.entry(from).or_default().push(to);
            }
        }
    }
    let mut rings: Vec<Vec<(i32, i32)>> = Vec::new();
    while let Some((&start, _)) = edges.iter().find(|(_, next)| !next.is_empty()) {
        let mut ring = vec![start];
        let mut at = start;
        let mut heading: Option<usize> = None;
        while let Some(options) = edges.get_mut(&at).filter(|options| !options.is_empty()) {
            // Where two cells touch only at a corner, turn left: each cell's ring stays its own.
            let pick = match heading {
                None => 0,
                Some(h) => {
                    let preference = [(h + 1) % 4, h, (h + 3) % 4];
                    preference
                        .iter()
                        .find_map(|want| options.iter().position(|to| direction_index((to.0 - at.0, to.1 - at.1)) == *want))
                        .unwrap_or(0)
                }
            };
            let to = options.swap_remove(pick);
            heading = Some(direction_index((to.0 - at.0, to.1 - at.1)));
            at = to;
            if at == start {
                break;
            }
            ring.push(at);
        }
        ring = drop_collinear(ring);
        ring.push(ring[0]);
        rings.push(ring);
    }
    // Outer rings run counter-clockwise (positive area); holes clockwise.
    let (outers, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|ring| twice_area(ring) > 0);
    let mut polygons: Vec<Vec<Vec<(i32, i32)>>> = outers.into_iter().map(|ring| vec![ring]).collect();
    for hole in holes {
        // A point just inside the set, beside the hole's first edge (the set is on the edge's left).
        let (a, b) = (hole[0], hole[1]);
        let (ex, ey) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
        let probe = (f64::from(a.0) + ex * 0.5 - ey * 0.01, f64::from(a.1) + ey * 0.5 + ex * 0.01);
        let home = polygons.iter().position(|polygon| inside(probe, &polygon[0])).unwrap_or(0);
        if let Some(polygon) = polygons.get_mut(home) {
            polygon.push(hole);
        }
    }
    polygons
}

fn drop_collinear(ring: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    let n = ring.len();
    if n < 4 {
        return ring;
    }
    (0..n)
        .filter(|&i| {
            let (p, v, q) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
            (v.0 - p.0) * (q.1 - v.1) - (v.1 - p.1) * (q.0 - v.0) != 0
        })
        .map(|i| ring[i])
        .collect()
}

fn twice_area(ring: &[(i32, i32)]) -> i64 {
    ring.windows(2).map(|w| i64::from(w[0].0) * i64::from(w[1].1) - i64::from(w[1].0) * i64::from(w[0].1)).sum()
}

fn inside(point: (f64, f64), ring: &[(i32, i32)]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = ((f64::from(w[0].0), f64::from(w[0].1)), (f64::from(w[1].0), f64::from(w[1].1)));
        if (a.1 > point.1) != (b.1 > point.1) && point.0 < a.0 + (point.1 - a.1) * (b.0 - a.0) / (b.1 - a.1) {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cells: &[Cell]) -> BTreeSet<Cell> {
        cells.iter().copied().collect()
    }

    #[test]
    fn one_cell_is_one_square() {
        let polygons = outline_rings(&set(&[(0, 0)]));
        assert_eq!(polygons, vec![vec![vec![(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]]]);
    }

    #[test]
    fn a_ring_of_cells_has_a_hole_and_corner_touching_cells_stay_apart() {
        let mut cells = BTreeSet::new();
        for x in 0..3 {
            for y in 0..3 {
                if (x, y) != (1, 1) {
                    cells.insert((x, y));
                }
            }
        }
        let polygons = outline_rings(&cells);
        assert_eq!(polygons.len(), 1);
        assert_eq!(polygons[0].len(), 2, "outer ring and the hole: {polygons:?}");
        assert_eq!(twice_area(&polygons[0][0]), 18);
        assert_eq!(twice_area(&polygons[0][1]), -2);
        let diagonal = outline_rings(&set(&[(0, 0), (1, 1)]));
        assert_eq!(diagonal.len(), 2, "{diagonal:?}");
        assert!(diagonal.iter().all(|polygon| polygon.len() == 1 && polygon[0].len() == 5));
    }

    #[test]
    fn the_outline_covers_exactly_the_cells() {
        // An irregular shape: every cell centre is inside the outline, every other centre nearby is not.
        let cells = set(&[(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2), (4, 4), (5, 4), (4, 5), (3, 3)]);
        let polygons = outline_rings(&cells);
        for x in -1..7 {
            for y in -1..7 {
                let centre = (f64::from(x) + 0.5, f64::from(y) + 0.5);
                let covered =
                    polygons.iter().any(|polygon| inside(centre, &polygon[0]) && !polygon[1..].iter().any(|hole| inside(centre, hole)));
                assert_eq!(covered, cells.contains(&(x, y)), "cell {x},{y}");
            }
        }
    }
}
