//! The area-targeting index: points with 64-bit ids, and exact "who is inside this area" queries.
//!
//! This module owns the storage of points and the quadtree walk that answers area queries.
//! Points live in one packed array sorted along a Z-order (Morton) curve over the whole globe,
//! so every quadtree cell is a contiguous slice; a cell that no ring edge touches is wholly inside or outside the area,
//! and is emitted or skipped without looking at its points.
//! Only cells crossed by the boundary test their points, with the exact predicates of [`crate::predicates`].
//! Inserts go to a small unsorted side buffer and removals to a bit set, both folded into the packed array
//! by an occasional rebuild, so incremental updates stay cheap.
//! It must never answer with an approximation: cell shortcuts are taken only when they are provably right.
//!
//! Memory: 16 bytes of coordinates and 8 bytes of id per point, 4-byte slots in the id hash table at a load
//! of 7/8 or less (about 4.7 bytes per point), one bit for removals and under a byte of quadtree:
//! under 30 bytes per point.

use crate::area::{Area, BoxClass, LonLat, RingSet};
use crate::error::SpatialError;
use crate::predicates::BBox;

/// Points per quadtree leaf; small enough that a boundary leaf costs little, large enough to keep the tree small.
const LEAF_SIZE: usize = 48;
/// A location in the id table that refers to the side buffer rather than the packed array.
const DELTA_FLAG: u32 = 1 << 31;
const EMPTY_SLOT: u32 = u32::MAX;
/// Node boxes are widened by this many degrees (about 1 cm), which covers rounding in the Morton quantisation,
/// so that every point of a cell lies inside the box used to classify the cell.
const BOX_PAD_DEG: f64 = 1e-7;

#[derive(Debug, Clone, Copy)]
struct Node {
    start: u32,
    end: u32,
    /// Index of the first of four consecutive children, or `u32::MAX` for a leaf.
    first_child: u32,
    qx: u32,
    qy: u32,
    depth: u8,
}

/// Points with u64 ids, indexed for exact area queries, updated incrementally.
#[derive(Debug, Clone, Default)]
pub struct PointIndex {
    /// Packed points in Morton order, as (lon, lat).
    pts: Vec<[f64; 2]>,
    ids: Vec<u64>,
    /// One bit per packed point: set when the point has been removed or moved away.
    dead: Vec<u64>,
    n_dead: usize,
    nodes: Vec<Node>,
    /// Points inserted since the last rebuild, unsorted.
    delta_pts: Vec<[f64; 2]>,
    delta_ids: Vec<u64>,
    /// Open-addressing hash table (linear probing) from id to location; the key is read from `ids`/`delta_ids`.
    slots: Vec<u32>,
    n_slots_used: usize,
}

/// Where query results go: a count or an id list.
trait Sink {
    fn one(&mut self, id: u64);
    fn range(&mut self, ids: &[u64]);
}

struct CountSink(usize);
impl Sink for CountSink {
    #[inline]
    fn one(&mut self, _id: u64) {
        self.0 += 1;
    }
    #[inline]
    fn range(&mut self, ids: &[u64]) {
        self.0 += ids.len();
    }
}

struct IdSink<'a>(&'a mut Vec<u64>);
impl Sink for IdSink<'_> {
    #[inline]
    fn one(&mut self, id: u64) {
        self.0.push(id);
    }
    #[inline]
    fn range(&mut self, ids: &[u64]) {
        self.0.extend_from_slice(ids);
    }
}

#[inline]
fn quantise(lon: f64, lat: f64) -> (u32, u32) {
    // 2^32 steps over 360 and 180 degrees: a cell of the deepest level is about 1 cm wide.
    let qx = ((lon + 180.0) * (4_294_967_296.0 / 360.0)).clamp(0.0, 4_294_967_295.0) as u32;
    let qy = ((lat + 90.0) * (4_294_967_296.0 / 180.0)).clamp(0.0, 4_294_967_295.0) as u32;
    (qx, qy)
}

#[inline]
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

#[inline]
fn morton(lon: f64, lat: f64) -> u64 {
    let (qx, qy) = quantise(lon, lat);
    (spread(qx) << 1) | spread(qy)
}

#[inline]
fn hash(id: u64, len: usize) -> usize {
    // Fibonacci hashing mixes sequential ids, and the multiply-shift maps the hash onto any table length,
    // so the table need not be a power of two (which would cost up to twice the memory).
    let h = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((u128::from(h) * len as u128) >> 64) as usize
}

impl PointIndex {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the index from many points at once, which is much faster than inserting them one by one.
    /// Fails on the first repeated id.
    pub fn build(points: impl IntoIterator<Item = (u64, LonLat)>) -> Result<Self, SpatialError> {
        let iter = points.into_iter();
        let mut pts = Vec::with_capacity(iter.size_hint().0);
        let mut ids = Vec::with_capacity(iter.size_hint().0);
        for (id, p) in iter {
            pts.push([p.lon(), p.lat()]);
            ids.push(id);
        }
        let mut index = Self::default();
        index.rebuild_from(pts, ids)?;
        Ok(index)
    }

    /// Number of points in the index.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pts.len() - self.n_dead + self.delta_pts.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory held by the index (capacity, not just length).
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.pts.capacity() * 16
            + self.ids.capacity() * 8
            + self.dead.capacity() * 8
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.delta_pts.capacity() * 16
            + self.delta_ids.capacity() * 8
            + self.slots.capacity() * 4
    }

    /// Where the point with this id is, if it is in the index.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<LonLat> {
        let slot = self.find_slot(id)?;
        let p = self.point_at(self.slots[slot]);
        LonLat::new(p[0], p[1]).ok()
    }

    /// Adds a point; an id that is already present is an error and changes nothing.
    pub fn insert(&mut self, id: u64, at: LonLat) -> Result<(), SpatialError> {
        if self.find_slot(id).is_some() {
            return Err(SpatialError::DuplicatePointId { id });
        }
        let loc = DELTA_FLAG | self.delta_pts.len() as u32;
        self.delta_pts.push([at.lon(), at.lat()]);
        self.delta_ids.push(id);
        self.table_insert(id, loc);
        self.maybe_rebuild();
        Ok(())
    }

    /// Removes a point and returns where it was.
    pub fn remove(&mut self, id: u64) -> Result<LonLat, SpatialError> {
        let slot = self.find_slot(id).ok_or(SpatialError::UnknownPointId { id })?;
        let loc = self.slots[slot];
        let p = self.point_at(loc);
        self.table_remove_slot(slot);
        if loc & DELTA_FLAG != 0 {
            let j = (loc & !DELTA_FLAG) as usize;
            let last = self.delta_ids.len() - 1;
            if j != last {
                // The last buffered point will move into the hole; point its table entry at the new place
                // while the arrays still agree with the table.
                if let Some(s) = self.find_slot(self.delta_ids[last]) {
                    self.slots[s] = DELTA_FLAG | j as u32;
                }
            }
            self.delta_pts.swap_remove(j);
            self.delta_ids.swap_remove(j);
        } else {
            let i = loc as usize;
            self.dead[i / 64] |= 1 << (i % 64);
            self.n_dead += 1;
            self.maybe_rebuild();
        }
        LonLat::new(p[0], p[1])
    }

    /// Moves a point to a new position.
    pub fn move_point(&mut self, id: u64, to: LonLat) -> Result<(), SpatialError> {
        let slot = self.find_slot(id).ok_or(SpatialError::UnknownPointId { id })?;
        let loc = self.slots[slot];
        if loc & DELTA_FLAG != 0 {
            // Buffered points are unsorted, so they can be moved in place.
            self.delta_pts[(loc & !DELTA_FLAG) as usize] = [to.lon(), to.lat()];
            return Ok(());
        }
        self.remove(id)?;
        self.insert(id, to)
    }

    /// How many points lie inside the area (boundary included).
    #[must_use]
    pub fn count(&self, area: &Area) -> usize {
        let mut sink = CountSink(0);
        self.query(area, &mut sink);
        sink.0
    }

    /// The ids of the points inside the area (boundary included), in no particular order.
    #[must_use]
    pub fn ids(&self, area: &Area) -> Vec<u64> {
        let mut out = Vec::new();
        self.ids_into(area, &mut out);
        out
    }

    /// Appends the ids of the points inside the area to `out`, reusing its allocation.
    pub fn ids_into(&self, area: &Area, out: &mut Vec<u64>) {
        let mut sink = IdSink(out);
        self.query(area, &mut sink);
    }

    fn query<S: Sink>(&self, area: &Area, sink: &mut S) {
        if !self.nodes.is_empty() {
            if let Some(rings) = area.ring_set() {
                let mut stack: Vec<u32> = (0..rings.edges.len() as u32).collect();
                let n = stack.len();
                self.walk_rings(0, area, rings, &mut stack, 0, n, sink);
            } else {
                self.walk_circle(0, area, sink);
            }
        }
        for (p, id) in self.delta_pts.iter().zip(&self.delta_ids) {
            if area.contains(p[0], p[1]) {
                sink.one(*id);
            }
        }
    }

    fn node_box(n: &Node) -> BBox {
        let size = 1u64 << (32 - u32::from(n.depth));
        let to_lon = |q: u64| q as f64 * (360.0 / 4_294_967_296.0) - 180.0;
        let to_lat = |q: u64| q as f64 * (180.0 / 4_294_967_296.0) - 90.0;
        BBox {
            min_x: to_lon(u64::from(n.qx)) - BOX_PAD_DEG,
            min_y: to_lat(u64::from(n.qy)) - BOX_PAD_DEG,
            max_x: to_lon(u64::from(n.qx) + size) + BOX_PAD_DEG,
            max_y: to_lat(u64::from(n.qy) + size) + BOX_PAD_DEG,
        }
    }

    #[inline]
    fn emit_range<S: Sink>(&self, start: usize, end: usize, sink: &mut S) {
        if self.n_dead == 0 {
            sink.range(&self.ids[start..end]);
        } else {
            for i in start..end {
                if self.dead[i / 64] & (1 << (i % 64)) == 0 {
                    sink.one(self.ids[i]);
                }
            }
        }
    }

    #[inline]
    fn emit_tested<S: Sink>(&self, start: usize, end: usize, area: &Area, sink: &mut S) {
        for i in start..end {
            let p = self.pts[i];
            if area.contains(p[0], p[1]) && (self.n_dead == 0 || self.dead[i / 64] & (1 << (i % 64)) == 0) {
                sink.one(self.ids[i]);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_rings<S: Sink>(&self, node: usize, area: &Area, rings: &RingSet, stack: &mut Vec<u32>, from: usize, to: usize, sink: &mut S) {
        let n = self.nodes[node];
        if n.start == n.end {
            return;
        }
        let b = Self::node_box(&n);
        if !b.intersects(&area.bbox()) {
            return;
        }
        let area_box = area.bbox();
        let (start, end) = (n.start as usize, n.end as usize);
        if b.min_x < area_box.min_x && b.min_y < area_box.min_y && b.max_x > area_box.max_x && b.max_y > area_box.max_y {
            // The box holds the whole area, so every edge touches it: descend without filtering (this skips the
            // long chain of nodes from the whole globe down to the area).
            if n.first_child == u32::MAX {
                self.emit_tested(start, end, area, sink);
            } else {
                for c in 0..4 {
                    self.walk_rings(n.first_child as usize + c, area, rings, stack, from, to, sink);
                }
            }
            return;
        }
        let base = stack.len();
        for k in from..to {
            let e = stack[k];
            if rings.edges[e as usize].touches_box(&b) {
                stack.push(e);
            }
        }
        let touching = stack.len() - base;
        if touching > 0 && (end - start) * 2 <= touching {
            // Few points against many edges: testing the points costs less than filtering edges further down.
            self.emit_tested(start, end, area, sink);
        } else if touching == 0 {
            // No edge touches the box, so all of it lies on one side of the boundary: one probe decides.
            let cx = 0.5 * (b.min_x + b.max_x);
            let cy = 0.5 * (b.min_y + b.max_y);
            if area.contains(cx, cy) {
                self.emit_range(start, end, sink);
            }
        } else if n.first_child == u32::MAX {
            self.emit_tested(start, end, area, sink);
        } else {
            let top = stack.len();
            for c in 0..4 {
                self.walk_rings(n.first_child as usize + c, area, rings, stack, base, top, sink);
            }
        }
        stack.truncate(base);
    }

    fn walk_circle<S: Sink>(&self, node: usize, area: &Area, sink: &mut S) {
        let n = self.nodes[node];
        if n.start == n.end {
            return;
        }
        let b = Self::node_box(&n);
        if !b.intersects(&area.bbox()) {
            return;
        }
        let (start, end) = (n.start as usize, n.end as usize);
        // Large boxes are not classified: the margins of the estimate only hold for boxes much smaller than the Earth.
        let class = match area.circle_shape() {
            Some(c) if n.depth >= 8 => c.classify_box(&b),
            _ => BoxClass::Unknown,
        };
        match class {
            BoxClass::Outside => {}
            BoxClass::Inside => self.emit_range(start, end, sink),
            BoxClass::Unknown if n.first_child == u32::MAX => self.emit_tested(start, end, area, sink),
            BoxClass::Unknown => {
                for c in 0..4 {
                    self.walk_circle(n.first_child as usize + c, area, sink);
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // Rebuilding the packed array.

    fn maybe_rebuild(&mut self) {
        let packed_live = self.pts.len() - self.n_dead;
        // Folding in the buffer costs a sort of everything, so it waits until the buffer is a sizeable fraction;
        // the amortised cost per update stays a few microseconds and the buffer scan stays short.
        let limit = (packed_live / 32).max(4096);
        if self.delta_pts.len() > limit || (self.n_dead > 4096 && self.n_dead > packed_live / 4) {
            let mut pts = Vec::with_capacity(self.len());
            let mut ids = Vec::with_capacity(self.len());
            for i in 0..self.pts.len() {
                if self.dead[i / 64] & (1 << (i % 64)) == 0 {
                    pts.push(self.pts[i]);
                    ids.push(self.ids[i]);
                }
            }
            pts.append(&mut self.delta_pts);
            ids.append(&mut self.delta_ids);
            // The ids are known to be distinct, so this cannot fail.
            let _ = self.rebuild_from(pts, ids);
        }
    }

    fn rebuild_from(&mut self, pts: Vec<[f64; 2]>, ids: Vec<u64>) -> Result<(), SpatialError> {
        let n = pts.len();
        let mut order: Vec<(u64, u32)> = pts.iter().enumerate().map(|(i, p)| (morton(p[0], p[1]), i as u32)).collect();
        radix_sort(&mut order);
        let mut sorted_pts = Vec::with_capacity(n);
        let mut sorted_ids = Vec::with_capacity(n);
        for &(_, i) in &order {
            sorted_pts.push(pts[i as usize]);
            sorted_ids.push(ids[i as usize]);
        }
        drop(pts);
        drop(ids);
        let keys: Vec<u64> = order.iter().map(|o| o.0).collect();
        drop(order);
        self.pts = sorted_pts;
        self.ids = sorted_ids;
        self.dead = vec![0; n.div_ceil(64)];
        self.n_dead = 0;
        self.delta_pts = Vec::new();
        self.delta_ids = Vec::new();
        self.nodes.clear();
        if n > 0 {
            self.nodes.push(Node { start: 0, end: n as u32, first_child: u32::MAX, qx: 0, qy: 0, depth: 0 });
            self.split(0, &keys);
        }
        self.nodes.shrink_to_fit();
        // Rebuild the id table for the new positions, with room for the inserts buffered before the next rebuild
        // at a load of at most 7/8.
        let cap = ((n + n / 32 + 4096) * 8 / 7 + 1).max(16);
        self.slots = vec![EMPTY_SLOT; cap];
        self.n_slots_used = 0;
        for i in 0..n {
            let id = self.ids[i];
            if self.find_slot(id).is_some() {
                *self = Self::default();
                return Err(SpatialError::DuplicatePointId { id });
            }
            self.table_insert(id, i as u32);
        }
        Ok(())
    }

    fn split(&mut self, root: usize, keys: &[u64]) {
        let mut todo = vec![root];
        while let Some(node) = todo.pop() {
            let n = self.nodes[node];
            let (start, end) = (n.start as usize, n.end as usize);
            if end - start <= LEAF_SIZE || n.depth >= 32 {
                continue;
            }
            let shift = 62 - 2 * u32::from(n.depth);
            let slice = &keys[start..end];
            let mut bounds = [start; 5];
            for q in 1..4u64 {
                bounds[q as usize] = start + slice.partition_point(|k| (k >> shift) & 3 < q);
            }
            bounds[4] = end;
            let first = self.nodes.len();
            let half = 1u32 << (31 - u32::from(n.depth));
            for q in 0..4 {
                // Quadrant bits: the higher one is longitude, the lower one latitude.
                let qx = n.qx + if q & 2 != 0 { half } else { 0 };
                let qy = n.qy + if q & 1 != 0 { half } else { 0 };
                self.nodes.push(Node {
                    start: bounds[q] as u32,
                    end: bounds[q + 1] as u32,
                    first_child: u32::MAX,
                    qx,
                    qy,
                    depth: n.depth + 1,
                });
                todo.push(first + q);
            }
            self.nodes[node].first_child = first as u32;
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // The id table.

    #[inline]
    fn point_at(&self, loc: u32) -> [f64; 2] {
        if loc & DELTA_FLAG != 0 { self.delta_pts[(loc & !DELTA_FLAG) as usize] } else { self.pts[loc as usize] }
    }

    #[inline]
    fn id_at(&self, loc: u32) -> u64 {
        if loc & DELTA_FLAG != 0 { self.delta_ids[(loc & !DELTA_FLAG) as usize] } else { self.ids[loc as usize] }
    }

    fn find_slot(&self, id: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let len = self.slots.len();
        let mut i = hash(id, len);
        loop {
            let loc = self.slots[i];
            if loc == EMPTY_SLOT {
                return None;
            }
            if self.id_at(loc) == id {
                return Some(i);
            }
            i = if i + 1 == len { 0 } else { i + 1 };
        }
    }

    fn table_insert(&mut self, id: u64, loc: u32) {
        if (self.n_slots_used + 1) * 8 > self.slots.len() * 7 {
            self.grow_table();
        }
        let len = self.slots.len();
        let mut i = hash(id, len);
        while self.slots[i] != EMPTY_SLOT {
            i = if i + 1 == len { 0 } else { i + 1 };
        }
        self.slots[i] = loc;
        self.n_slots_used += 1;
    }

    fn grow_table(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let cap = (old.len() + old.len() / 2).max(16);
        self.slots = vec![EMPTY_SLOT; cap];
        for loc in old.into_iter().filter(|&l| l != EMPTY_SLOT) {
            let mut i = hash(self.id_at(loc), cap);
            while self.slots[i] != EMPTY_SLOT {
                i = if i + 1 == cap { 0 } else { i + 1 };
            }
            self.slots[i] = loc;
        }
    }

    /// Deletes by shifting later entries of the probe run back, so lookups never need tombstones.
    fn table_remove_slot(&mut self, mut hole: usize) {
        let len = self.slots.len();
        let mut j = hole;
        loop {
            j = if j + 1 == len { 0 } else { j + 1 };
            let loc = self.slots[j];
            if loc == EMPTY_SLOT {
                break;
            }
            let home = hash(self.id_at(loc), len);
            // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.slots[hole] = loc;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY_SLOT;
        self.n_slots_used -= 1;
    }
}

/// LSD radix sort on the 64-bit key, 16 bits per pass; stable, and skips passes where all keys share the digit.
fn radix_sort(v: &mut Vec<(u64, u32)>) {
    if v.len() < 256 {
        v.sort_unstable();
        return;
    }
    let mut tmp = vec![(0u64, 0u32); v.len()];
    for pass in 0..4 {
        let shift = pass * 16;
        let mut counts = vec![0usize; 1 << 16];
        for &(k, _) in v.iter() {
            counts[((k >> shift) & 0xFFFF) as usize] += 1;
        }
        if counts.contains(&v.len()) {
            continue;
        }
        let mut sum = 0;
        for c in &mut counts {
            let t = *c;
            *c = sum;
            sum += t;
        }
        for &item in v.iter() {
            let d = ((item.0 >> shift) & 0xFFFF) as usize;
            tmp[counts[d]] = item;
            counts[d] += 1;
        }
        std::mem::swap(v, &mut tmp);
    }
}
