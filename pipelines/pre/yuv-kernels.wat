;; The detector input's hot loops in WebAssembly with 128-bit SIMD (D149): the same integer maths as
;; i420ToTensor in pipelines/pre/yuv-tensor.ts, a row at a time, driven by pipelines/pre/yuv-tensor-wasm.ts.
;; All pointers are byte offsets into the exported memory; tap tables and rows are i32, the tensor f32.
;; After editing: npm run build:wasm (writes yuv-kernels-wasm.ts; a unit test checks the two agree).
(module
  (memory (export "memory") 1)

  ;; per chroma block k of a block row: CR/CG/CB[k] from U/V rows r0, r1 (bilinear, weights /2048)
  (func (export "chroma")
    (param $u0 i32) (param $u1 i32) (param $v0 i32) (param $v1 i32)
    (param $cx0 i32) (param $cx1 i32) (param $cwx i32) (param $n i32) (param $cwy i32)
    (param $cr i32) (param $cg i32) (param $cb i32)
    (local $k i32) (local $c0 i32) (local $c1 i32) (local $w i32) (local $iw i32) (local $icwy i32)
    (local $d i32) (local $e i32) (local $o i32)
    (local.set $icwy (i32.sub (i32.const 2048) (local.get $cwy)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $c0 (i32.load (i32.add (local.get $cx0) (local.get $o))))
        (local.set $c1 (i32.load (i32.add (local.get $cx1) (local.get $o))))
        (local.set $w (i32.load (i32.add (local.get $cwx) (local.get $o))))
        (local.set $iw (i32.sub (i32.const 2048) (local.get $w)))
        (local.set $d (i32.sub (i32.shr_s (i32.add (i32.add
          (i32.mul (i32.add (i32.mul (i32.load8_u (i32.add (local.get $u0) (local.get $c0))) (local.get $iw))
                            (i32.mul (i32.load8_u (i32.add (local.get $u0) (local.get $c1))) (local.get $w))) (local.get $icwy))
          (i32.mul (i32.add (i32.mul (i32.load8_u (i32.add (local.get $u1) (local.get $c0))) (local.get $iw))
                            (i32.mul (i32.load8_u (i32.add (local.get $u1) (local.get $c1))) (local.get $w))) (local.get $cwy)))
          (i32.const 2097152)) (i32.const 22)) (i32.const 128)))
        (local.set $e (i32.sub (i32.shr_s (i32.add (i32.add
          (i32.mul (i32.add (i32.mul (i32.load8_u (i32.add (local.get $v0) (local.get $c0))) (local.get $iw))
                            (i32.mul (i32.load8_u (i32.add (local.get $v0) (local.get $c1))) (local.get $w))) (local.get $icwy))
          (i32.mul (i32.add (i32.mul (i32.load8_u (i32.add (local.get $v1) (local.get $c0))) (local.get $iw))
                            (i32.mul (i32.load8_u (i32.add (local.get $v1) (local.get $c1))) (local.get $w))) (local.get $cwy)))
          (i32.const 2097152)) (i32.const 22)) (i32.const 128)))
        (i32.store (i32.add (local.get $cr) (local.get $o)) (i32.add (i32.mul (local.get $e) (i32.const 409)) (i32.const 128)))
        (i32.store (i32.add (local.get $cg) (local.get $o))
          (i32.add (i32.sub (i32.mul (local.get $d) (i32.const -100)) (i32.mul (local.get $e) (i32.const 208))) (i32.const 128)))
        (i32.store (i32.add (local.get $cb) (local.get $o)) (i32.add (i32.mul (local.get $d) (i32.const 516)) (i32.const 128)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next))))

  ;; chroma for an exact 2:1 shrink across (block k reads samples 2k and 2k + 1, weight 1024 each): the
  ;; same values as chroma, since (S·1024·iwy + … + 2^21) >> 22 = (S·iwy + … + 2048) >> 12 for the pair
  ;; sums S; 8 blocks per step from 16 bytes of each row
  (func (export "chromaHalves")
    (param $u0 i32) (param $u1 i32) (param $v0 i32) (param $v1 i32) (param $n i32) (param $cwy i32)
    (param $cr i32) (param $cg i32) (param $cb i32)
    (local $k i32) (local $s i32) (local $o i32) (local $icwy i32) (local $d i32) (local $e i32)
    (local $vi v128) (local $vw v128) (local $r v128) (local $h v128)
    (local $ua v128) (local $ub v128) (local $va v128) (local $vb v128) (local $dv v128) (local $ev v128)
    (local.set $icwy (i32.sub (i32.const 2048) (local.get $cwy)))
    (local.set $vi (i32x4.splat (local.get $icwy)))
    (local.set $vw (i32x4.splat (local.get $cwy)))
    (local.set $r (i32x4.splat (i32.const 2048)))
    (local.set $h (i32x4.splat (i32.const 128)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (i32.add (local.get $k) (i32.const 8)) (local.get $n)))
        (local.set $s (i32.shl (local.get $k) (i32.const 1)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $ua (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $u0) (local.get $s)))))
        (local.set $ub (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $u1) (local.get $s)))))
        (local.set $va (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $v0) (local.get $s)))))
        (local.set $vb (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $v1) (local.get $s)))))
        ;; blocks k..k+3
        (local.set $dv (i32x4.sub (i32x4.shr_u (i32x4.add (i32x4.add
          (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $ua)) (local.get $vi))
          (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $ub)) (local.get $vw))) (local.get $r)) (i32.const 12)) (local.get $h)))
        (local.set $ev (i32x4.sub (i32x4.shr_u (i32x4.add (i32x4.add
          (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $va)) (local.get $vi))
          (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $vb)) (local.get $vw))) (local.get $r)) (i32.const 12)) (local.get $h)))
        (v128.store (i32.add (local.get $cr) (local.get $o)) (i32x4.add (i32x4.mul (local.get $ev) (i32x4.splat (i32.const 409))) (local.get $h)))
        (v128.store (i32.add (local.get $cg) (local.get $o)) (i32x4.add (i32x4.sub
          (i32x4.mul (local.get $dv) (i32x4.splat (i32.const -100))) (i32x4.mul (local.get $ev) (i32x4.splat (i32.const 208)))) (local.get $h)))
        (v128.store (i32.add (local.get $cb) (local.get $o)) (i32x4.add (i32x4.mul (local.get $dv) (i32x4.splat (i32.const 516))) (local.get $h)))
        ;; blocks k+4..k+7
        (local.set $dv (i32x4.sub (i32x4.shr_u (i32x4.add (i32x4.add
          (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $ua)) (local.get $vi))
          (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $ub)) (local.get $vw))) (local.get $r)) (i32.const 12)) (local.get $h)))
        (local.set $ev (i32x4.sub (i32x4.shr_u (i32x4.add (i32x4.add
          (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $va)) (local.get $vi))
          (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $vb)) (local.get $vw))) (local.get $r)) (i32.const 12)) (local.get $h)))
        (v128.store offset=16 (i32.add (local.get $cr) (local.get $o)) (i32x4.add (i32x4.mul (local.get $ev) (i32x4.splat (i32.const 409))) (local.get $h)))
        (v128.store offset=16 (i32.add (local.get $cg) (local.get $o)) (i32x4.add (i32x4.sub
          (i32x4.mul (local.get $dv) (i32x4.splat (i32.const -100))) (i32x4.mul (local.get $ev) (i32x4.splat (i32.const 208)))) (local.get $h)))
        (v128.store offset=16 (i32.add (local.get $cb) (local.get $o)) (i32x4.add (i32x4.mul (local.get $dv) (i32x4.splat (i32.const 516))) (local.get $h)))
        (local.set $k (i32.add (local.get $k) (i32.const 8)))
        (br $next)))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_s (local.get $k) (local.get $n)))
        (local.set $s (i32.shl (local.get $k) (i32.const 1)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $d (i32.sub (i32.shr_u (i32.add (i32.add
          (i32.mul (i32.add (i32.load8_u (i32.add (local.get $u0) (local.get $s))) (i32.load8_u offset=1 (i32.add (local.get $u0) (local.get $s)))) (local.get $icwy))
          (i32.mul (i32.add (i32.load8_u (i32.add (local.get $u1) (local.get $s))) (i32.load8_u offset=1 (i32.add (local.get $u1) (local.get $s)))) (local.get $cwy)))
          (i32.const 2048)) (i32.const 12)) (i32.const 128)))
        (local.set $e (i32.sub (i32.shr_u (i32.add (i32.add
          (i32.mul (i32.add (i32.load8_u (i32.add (local.get $v0) (local.get $s))) (i32.load8_u offset=1 (i32.add (local.get $v0) (local.get $s)))) (local.get $icwy))
          (i32.mul (i32.add (i32.load8_u (i32.add (local.get $v1) (local.get $s))) (i32.load8_u offset=1 (i32.add (local.get $v1) (local.get $s)))) (local.get $cwy)))
          (i32.const 2048)) (i32.const 12)) (i32.const 128)))
        (i32.store (i32.add (local.get $cr) (local.get $o)) (i32.add (i32.mul (local.get $e) (i32.const 409)) (i32.const 128)))
        (i32.store (i32.add (local.get $cg) (local.get $o))
          (i32.add (i32.sub (i32.mul (local.get $d) (i32.const -100)) (i32.mul (local.get $e) (i32.const 208))) (i32.const 128)))
        (i32.store (i32.add (local.get $cb) (local.get $o)) (i32.add (i32.mul (local.get $d) (i32.const 516)) (i32.const 128)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail))))

  ;; one luma row for an exact 2:1 shrink across: L[x] = ((Y0[2x]+Y0[2x+1])·iwy + (Y1[2x]+Y1[2x+1])·wy + 2048) >> 12
  (func (export "lumaHalves")
    (param $y0 i32) (param $y1 i32) (param $wy i32) (param $n i32) (param $l i32)
    (local $x i32) (local $iwy i32) (local $a v128) (local $b v128) (local $vi v128) (local $vw v128) (local $r v128)
    (local $s i32)
    (local.set $iwy (i32.sub (i32.const 2048) (local.get $wy)))
    (local.set $vi (i32x4.splat (local.get $iwy)))
    (local.set $vw (i32x4.splat (local.get $wy)))
    (local.set $r (i32x4.splat (i32.const 2048)))
    ;; 8 outputs per step from 16 source bytes of each row
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (i32.add (local.get $x) (i32.const 8)) (local.get $n)))
        (local.set $s (i32.shl (local.get $x) (i32.const 1)))
        (local.set $a (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $y0) (local.get $s)))))
        (local.set $b (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $y1) (local.get $s)))))
        (v128.store (i32.add (local.get $l) (i32.shl (local.get $x) (i32.const 2)))
          (i32x4.shr_u (i32x4.add (i32x4.add
            (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $a)) (local.get $vi))
            (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $b)) (local.get $vw))) (local.get $r)) (i32.const 12)))
        (v128.store offset=16 (i32.add (local.get $l) (i32.shl (local.get $x) (i32.const 2)))
          (i32x4.shr_u (i32x4.add (i32x4.add
            (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $a)) (local.get $vi))
            (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $b)) (local.get $vw))) (local.get $r)) (i32.const 12)))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (br $next)))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_s (local.get $x) (local.get $n)))
        (local.set $s (i32.shl (local.get $x) (i32.const 1)))
        (i32.store (i32.add (local.get $l) (i32.shl (local.get $x) (i32.const 2)))
          (i32.shr_u (i32.add (i32.add
            (i32.mul (i32.add (i32.load8_u (i32.add (local.get $y0) (local.get $s))) (i32.load8_u offset=1 (i32.add (local.get $y0) (local.get $s)))) (local.get $iwy))
            (i32.mul (i32.add (i32.load8_u (i32.add (local.get $y1) (local.get $s))) (i32.load8_u offset=1 (i32.add (local.get $y1) (local.get $s)))) (local.get $wy)))
            (i32.const 2048)) (i32.const 12)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $tail))))

  ;; one luma row, any scale: taps lx0/lx1 (i32 offsets in the row) and lw (weight of lx1 in /2048)
  (func (export "lumaAny")
    (param $y0 i32) (param $y1 i32) (param $wy i32) (param $n i32) (param $lx0 i32) (param $lx1 i32) (param $lw i32) (param $l i32)
    (local $x i32) (local $o i32) (local $iwy i32) (local $a i32) (local $b i32) (local $w i32) (local $iw i32)
    (local.set $iwy (i32.sub (i32.const 2048) (local.get $wy)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $x) (local.get $n)))
        (local.set $o (i32.shl (local.get $x) (i32.const 2)))
        (local.set $a (i32.load (i32.add (local.get $lx0) (local.get $o))))
        (local.set $b (i32.load (i32.add (local.get $lx1) (local.get $o))))
        (local.set $w (i32.load (i32.add (local.get $lw) (local.get $o))))
        (local.set $iw (i32.sub (i32.const 2048) (local.get $w)))
        (i32.store (i32.add (local.get $l) (local.get $o))
          (i32.shr_s (i32.add (i32.add
            (i32.mul (i32.add (i32.mul (i32.load8_u (i32.add (local.get $y0) (local.get $a))) (local.get $iw))
                              (i32.mul (i32.load8_u (i32.add (local.get $y0) (local.get $b))) (local.get $w))) (local.get $iwy))
            (i32.mul (i32.add (i32.mul (i32.load8_u (i32.add (local.get $y1) (local.get $a))) (local.get $iw))
                              (i32.mul (i32.load8_u (i32.add (local.get $y1) (local.get $b))) (local.get $w))) (local.get $wy)))
            (i32.const 2097152)) (i32.const 22)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $next))))

  ;; one row of the tensor: RGB from luma L and the block chroma terms, clamped, then x·a + b per channel
  ;; into three planes (o0/o1/o2: where the row starts in each channel's plane)
  (func $px (param $c i32) (param $t i32) (result f32)
    (local $v i32)
    (local.set $v (i32.shr_s (i32.add (local.get $c) (local.get $t)) (i32.const 8)))
    (f32.convert_i32_s (select (i32.const 0) (select (i32.const 255) (local.get $v) (i32.gt_s (local.get $v) (i32.const 255))) (i32.lt_s (local.get $v) (i32.const 0)))))
  (func (export "colour")
    (param $l i32) (param $cr i32) (param $cg i32) (param $cb i32) (param $n i32)
    (param $o0 i32) (param $o1 i32) (param $o2 i32)
    (param $a0 f32) (param $b0 f32) (param $a1 f32) (param $b1 f32) (param $a2 f32) (param $b2 f32)
    (local $x i32) (local $c v128) (local $v v128) (local $q i32) (local $h i32)
    (local $va0 v128) (local $vb0 v128) (local $va1 v128) (local $vb1 v128) (local $va2 v128) (local $vb2 v128)
    (local $k16 v128) (local $k298 v128) (local $zero v128) (local $max v128)
    (local $cs i32)
    (local.set $va0 (f32x4.splat (local.get $a0))) (local.set $vb0 (f32x4.splat (local.get $b0)))
    (local.set $va1 (f32x4.splat (local.get $a1))) (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $va2 (f32x4.splat (local.get $a2))) (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $k16 (i32x4.splat (i32.const 16))) (local.set $k298 (i32x4.splat (i32.const 298)))
    (local.set $max (i32x4.splat (i32.const 255)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (i32.add (local.get $x) (i32.const 4)) (local.get $n)))
        (local.set $q (i32.shl (local.get $x) (i32.const 2)))
        (local.set $h (i32.shl (local.get $x) (i32.const 1))) ;; byte offset of block x/2
        (local.set $c (i32x4.mul (i32x4.sub (v128.load (i32.add (local.get $l) (local.get $q))) (local.get $k16)) (local.get $k298)))
        ;; R
        (local.set $v (i8x16.shuffle 0 1 2 3 0 1 2 3 4 5 6 7 4 5 6 7 (v128.load64_zero (i32.add (local.get $cr) (local.get $h))) (local.get $zero)))
        (v128.store (i32.add (local.get $o0) (local.get $q))
          (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.min_s (i32x4.max_s (i32x4.shr_s (i32x4.add (local.get $c) (local.get $v)) (i32.const 8)) (local.get $zero)) (local.get $max))) (local.get $va0)) (local.get $vb0)))
        ;; G
        (local.set $v (i8x16.shuffle 0 1 2 3 0 1 2 3 4 5 6 7 4 5 6 7 (v128.load64_zero (i32.add (local.get $cg) (local.get $h))) (local.get $zero)))
        (v128.store (i32.add (local.get $o1) (local.get $q))
          (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.min_s (i32x4.max_s (i32x4.shr_s (i32x4.add (local.get $c) (local.get $v)) (i32.const 8)) (local.get $zero)) (local.get $max))) (local.get $va1)) (local.get $vb1)))
        ;; B
        (local.set $v (i8x16.shuffle 0 1 2 3 0 1 2 3 4 5 6 7 4 5 6 7 (v128.load64_zero (i32.add (local.get $cb) (local.get $h))) (local.get $zero)))
        (v128.store (i32.add (local.get $o2) (local.get $q))
          (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.min_s (i32x4.max_s (i32x4.shr_s (i32x4.add (local.get $c) (local.get $v)) (i32.const 8)) (local.get $zero)) (local.get $max))) (local.get $va2)) (local.get $vb2)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $next)))
    ;; the last 0..3 pixels
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_s (local.get $x) (local.get $n)))
        (local.set $q (i32.shl (local.get $x) (i32.const 2)))
        (local.set $h (i32.shl (i32.shr_u (local.get $x) (i32.const 1)) (i32.const 2)))
        (local.set $cs (i32.mul (i32.sub (i32.load (i32.add (local.get $l) (local.get $q))) (i32.const 16)) (i32.const 298)))
        (f32.store (i32.add (local.get $o0) (local.get $q)) (f32.add (f32.mul (call $px (local.get $cs) (i32.load (i32.add (local.get $cr) (local.get $h)))) (local.get $a0)) (local.get $b0)))
        (f32.store (i32.add (local.get $o1) (local.get $q)) (f32.add (f32.mul (call $px (local.get $cs) (i32.load (i32.add (local.get $cg) (local.get $h)))) (local.get $a1)) (local.get $b1)))
        (f32.store (i32.add (local.get $o2) (local.get $q)) (f32.add (f32.mul (call $px (local.get $cs) (i32.load (i32.add (local.get $cb) (local.get $h)))) (local.get $a2)) (local.get $b2)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $tail))))
  ;; the same with chroma terms per pixel (CR/CG/CB[x], not per block x/2): face crops, whose chroma is
  ;; bilinear at every output pixel as pre/yuv.ts resampleRegionI420 makes it (D159)
  (func (export "colourPx")
    (param $l i32) (param $cr i32) (param $cg i32) (param $cb i32) (param $n i32)
    (param $o0 i32) (param $o1 i32) (param $o2 i32)
    (param $a0 f32) (param $b0 f32) (param $a1 f32) (param $b1 f32) (param $a2 f32) (param $b2 f32)
    (local $x i32) (local $c v128) (local $v v128) (local $q i32) (local $h i32)
    (local $va0 v128) (local $vb0 v128) (local $va1 v128) (local $vb1 v128) (local $va2 v128) (local $vb2 v128)
    (local $k16 v128) (local $k298 v128) (local $zero v128) (local $max v128)
    (local $cs i32)
    (local.set $va0 (f32x4.splat (local.get $a0))) (local.set $vb0 (f32x4.splat (local.get $b0)))
    (local.set $va1 (f32x4.splat (local.get $a1))) (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $va2 (f32x4.splat (local.get $a2))) (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $k16 (i32x4.splat (i32.const 16))) (local.set $k298 (i32x4.splat (i32.const 298)))
    (local.set $max (i32x4.splat (i32.const 255)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_s (i32.add (local.get $x) (i32.const 4)) (local.get $n)))
        (local.set $q (i32.shl (local.get $x) (i32.const 2)))
        (local.set $c (i32x4.mul (i32x4.sub (v128.load (i32.add (local.get $l) (local.get $q))) (local.get $k16)) (local.get $k298)))
        ;; R
        (local.set $v (v128.load (i32.add (local.get $cr) (local.get $q))))
        (v128.store (i32.add (local.get $o0) (local.get $q))
          (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.min_s (i32x4.max_s (i32x4.shr_s (i32x4.add (local.get $c) (local.get $v)) (i32.const 8)) (local.get $zero)) (local.get $max))) (local.get $va0)) (local.get $vb0)))
        ;; G
        (local.set $v (v128.load (i32.add (local.get $cg) (local.get $q))))
        (v128.store (i32.add (local.get $o1) (local.get $q))
          (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.min_s (i32x4.max_s (i32x4.shr_s (i32x4.add (local.get $c) (local.get $v)) (i32.const 8)) (local.get $zero)) (local.get $max))) (local.get $va1)) (local.get $vb1)))
        ;; B
        (local.set $v (v128.load (i32.add (local.get $cb) (local.get $q))))
        (v128.store (i32.add (local.get $o2) (local.get $q))
          (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (i32x4.min_s (i32x4.max_s (i32x4.shr_s (i32x4.add (local.get $c) (local.get $v)) (i32.const 8)) (local.get $zero)) (local.get $max))) (local.get $va2)) (local.get $vb2)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $next)))
    ;; the last 0..3 pixels
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_s (local.get $x) (local.get $n)))
        (local.set $q (i32.shl (local.get $x) (i32.const 2)))
        (local.set $h (local.get $q))
        (local.set $cs (i32.mul (i32.sub (i32.load (i32.add (local.get $l) (local.get $q))) (i32.const 16)) (i32.const 298)))
        (f32.store (i32.add (local.get $o0) (local.get $q)) (f32.add (f32.mul (call $px (local.get $cs) (i32.load (i32.add (local.get $cr) (local.get $h)))) (local.get $a0)) (local.get $b0)))
        (f32.store (i32.add (local.get $o1) (local.get $q)) (f32.add (f32.mul (call $px (local.get $cs) (i32.load (i32.add (local.get $cg) (local.get $h)))) (local.get $a1)) (local.get $b1)))
        (f32.store (i32.add (local.get $o2) (local.get $q)) (f32.add (f32.mul (call $px (local.get $cs) (i32.load (i32.add (local.get $cb) (local.get $h)))) (local.get $a2)) (local.get $b2)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $tail))))
)
