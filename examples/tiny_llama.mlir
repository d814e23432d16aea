// Llama-style decoder: L=2 E=64 Hq=4 Hkv=2 D=16 S=64 B=2 T=16 F=128; form=tensor layer_loop=False layout=bhsd qk=batch_matmul softmax=linalg
func.func @prefill(%hidden: tensor<2x16x64xf32>, %k_cache_0: tensor<2x2x64x16xf32>, %v_cache_0: tensor<2x2x64x16xf32>, %k_cache_1: tensor<2x2x64x16xf32>, %v_cache_1: tensor<2x2x64x16xf32>, %attn_norm_0: tensor<64xf32>, %wq_0: tensor<64x64xf32>, %wk_0: tensor<64x32xf32>, %wv_0: tensor<64x32xf32>, %wo_0: tensor<64x64xf32>, %mlp_norm_0: tensor<64xf32>, %w_gate_0: tensor<64x128xf32>, %w_up_0: tensor<64x128xf32>, %w_down_0: tensor<128x64xf32>, %attn_norm_1: tensor<64xf32>, %wq_1: tensor<64x64xf32>, %wk_1: tensor<64x32xf32>, %wv_1: tensor<64x32xf32>, %wo_1: tensor<64x64xf32>, %mlp_norm_1: tensor<64xf32>, %w_gate_1: tensor<64x128xf32>, %w_up_1: tensor<64x128xf32>, %w_down_1: tensor<128x64xf32>)
    -> (tensor<2x16x64xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>) {
  %c1 = arith.constant 0.000000000e+00 : f32
  %empty3 = tensor.empty() : tensor<2x16xf32>
  %init2 = linalg.fill ins(%c1 : f32) outs(%empty3 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %generic4 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%hidden : tensor<2x16x64xf32>) outs(%init2 : tensor<2x16xf32>) {
  ^bb0(%in5: f32, %out6: f32):
    %v7 = arith.mulf %in5, %in5 : f32
    %v8 = arith.addf %v7, %out6 : f32
    linalg.yield %v8 : f32
  } -> tensor<2x16xf32>
  %c9 = arith.constant 1.562500000e-02 : f32
  %c10 = arith.constant 1.000000000e-05 : f32
  %empty11 = tensor.empty() : tensor<2x16x64xf32>
  %generic12 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%hidden, %generic4, %attn_norm_0 : tensor<2x16x64xf32>, tensor<2x16xf32>, tensor<64xf32>) outs(%empty11 : tensor<2x16x64xf32>) {
  ^bb0(%in13: f32, %in14: f32, %in15: f32, %out16: f32):
    %v17 = arith.mulf %in14, %c9 : f32
    %v18 = arith.addf %v17, %c10 : f32
    %v19 = math.rsqrt %v18 : f32
    %v20 = arith.mulf %in13, %v19 : f32
    %v21 = arith.mulf %v20, %in15 : f32
    linalg.yield %v21 : f32
  } -> tensor<2x16x64xf32>
  %collapsed22 = tensor.collapse_shape %generic12 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c24 = arith.constant 0.000000000e+00 : f32
  %empty26 = tensor.empty() : tensor<32x64xf32>
  %init25 = linalg.fill ins(%c24 : f32) outs(%empty26 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %matmul23 = linalg.matmul ins(%collapsed22, %wq_0 : tensor<32x64xf32>, tensor<64x64xf32>) outs(%init25 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %expanded27 = tensor.expand_shape %matmul23 [[0, 1], [2]] output_shape [2, 16, 64] : tensor<32x64xf32> into tensor<2x16x64xf32>
  %expanded28 = tensor.expand_shape %expanded27 [[0], [1], [2, 3]] output_shape [2, 16, 4, 16] : tensor<2x16x64xf32> into tensor<2x16x4x16xf32>
  %collapsed29 = tensor.collapse_shape %generic12 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c31 = arith.constant 0.000000000e+00 : f32
  %empty33 = tensor.empty() : tensor<32x32xf32>
  %init32 = linalg.fill ins(%c31 : f32) outs(%empty33 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %matmul30 = linalg.matmul ins(%collapsed29, %wk_0 : tensor<32x64xf32>, tensor<64x32xf32>) outs(%init32 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %expanded34 = tensor.expand_shape %matmul30 [[0, 1], [2]] output_shape [2, 16, 32] : tensor<32x32xf32> into tensor<2x16x32xf32>
  %expanded35 = tensor.expand_shape %expanded34 [[0], [1], [2, 3]] output_shape [2, 16, 2, 16] : tensor<2x16x32xf32> into tensor<2x16x2x16xf32>
  %collapsed36 = tensor.collapse_shape %generic12 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c38 = arith.constant 0.000000000e+00 : f32
  %empty40 = tensor.empty() : tensor<32x32xf32>
  %init39 = linalg.fill ins(%c38 : f32) outs(%empty40 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %matmul37 = linalg.matmul ins(%collapsed36, %wv_0 : tensor<32x64xf32>, tensor<64x32xf32>) outs(%init39 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %expanded41 = tensor.expand_shape %matmul37 [[0, 1], [2]] output_shape [2, 16, 32] : tensor<32x32xf32> into tensor<2x16x32xf32>
  %expanded42 = tensor.expand_shape %expanded41 [[0], [1], [2, 3]] output_shape [2, 16, 2, 16] : tensor<2x16x32xf32> into tensor<2x16x2x16xf32>
  %c43 = arith.constant 9.210340372e+00 : f32
  %c44 = arith.constant -1.250000000e-01 : f32
  %c45 = arith.constant 8 : index
  %empty46 = tensor.empty() : tensor<2x16x4x16xf32>
  %generic47 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded28, %expanded28 : tensor<2x16x4x16xf32>, tensor<2x16x4x16xf32>) outs(%empty46 : tensor<2x16x4x16xf32>) {
  ^bb0(%in48: f32, %in49: f32, %out50: f32):
    %v51 = linalg.index 1 : index
    %v52 = linalg.index 3 : index
    %v53 = arith.index_cast %v51 : index to i64
    %v54 = arith.uitofp %v53 : i64 to f32
    %v55 = arith.remui %v52, %c45 : index
    %v56 = arith.index_cast %v55 : index to i64
    %v57 = arith.uitofp %v56 : i64 to f32
    %v58 = arith.mulf %v57, %c44 : f32
    %v59 = arith.mulf %v58, %c43 : f32
    %v60 = math.exp %v59 : f32
    %v61 = arith.mulf %v54, %v60 : f32
    %v62 = arith.cmpi ult, %v52, %c45 : index
    %v63 = arith.negf %in49 : f32
    %v64 = arith.select %v62, %v63, %in49 : f32
    %v65 = math.cos %v61 : f32
    %v66 = math.sin %v61 : f32
    %v67 = arith.mulf %in48, %v65 : f32
    %v68 = arith.mulf %v64, %v66 : f32
    %v69 = arith.addf %v67, %v68 : f32
    linalg.yield %v69 : f32
  } -> tensor<2x16x4x16xf32>
  %c70 = arith.constant 9.210340372e+00 : f32
  %c71 = arith.constant -1.250000000e-01 : f32
  %c72 = arith.constant 8 : index
  %empty73 = tensor.empty() : tensor<2x16x2x16xf32>
  %generic74 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded35, %expanded35 : tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) outs(%empty73 : tensor<2x16x2x16xf32>) {
  ^bb0(%in75: f32, %in76: f32, %out77: f32):
    %v78 = linalg.index 1 : index
    %v79 = linalg.index 3 : index
    %v80 = arith.index_cast %v78 : index to i64
    %v81 = arith.uitofp %v80 : i64 to f32
    %v82 = arith.remui %v79, %c72 : index
    %v83 = arith.index_cast %v82 : index to i64
    %v84 = arith.uitofp %v83 : i64 to f32
    %v85 = arith.mulf %v84, %c71 : f32
    %v86 = arith.mulf %v85, %c70 : f32
    %v87 = math.exp %v86 : f32
    %v88 = arith.mulf %v81, %v87 : f32
    %v89 = arith.cmpi ult, %v79, %c72 : index
    %v90 = arith.negf %in76 : f32
    %v91 = arith.select %v89, %v90, %in76 : f32
    %v92 = math.cos %v88 : f32
    %v93 = math.sin %v88 : f32
    %v94 = arith.mulf %in75, %v92 : f32
    %v95 = arith.mulf %v91, %v93 : f32
    %v96 = arith.addf %v94, %v95 : f32
    linalg.yield %v96 : f32
  } -> tensor<2x16x2x16xf32>
  %empty98 = tensor.empty() : tensor<2x2x16x16xf32>
  %transposed97 = linalg.transpose ins(%generic74 : tensor<2x16x2x16xf32>) outs(%empty98 : tensor<2x2x16x16xf32>) permutation = [0, 2, 1, 3]
  %written99 = tensor.insert_slice %transposed97 into %k_cache_0[0, 0, 0, 0] [2, 2, 16, 16] [1, 1, 1, 1] : tensor<2x2x16x16xf32> into tensor<2x2x64x16xf32>
  %empty101 = tensor.empty() : tensor<2x2x16x16xf32>
  %transposed100 = linalg.transpose ins(%expanded42 : tensor<2x16x2x16xf32>) outs(%empty101 : tensor<2x2x16x16xf32>) permutation = [0, 2, 1, 3]
  %written102 = tensor.insert_slice %transposed100 into %v_cache_0[0, 0, 0, 0] [2, 2, 16, 16] [1, 1, 1, 1] : tensor<2x2x16x16xf32> into tensor<2x2x64x16xf32>
  %empty103 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic104 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written99 : tensor<2x2x64x16xf32>) outs(%empty103 : tensor<2x4x64x16xf32>) {
  ^bb0(%in105: f32, %out106: f32):
    linalg.yield %in105 : f32
  } -> tensor<2x4x64x16xf32>
  %empty107 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic108 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written102 : tensor<2x2x64x16xf32>) outs(%empty107 : tensor<2x4x64x16xf32>) {
  ^bb0(%in109: f32, %out110: f32):
    linalg.yield %in109 : f32
  } -> tensor<2x4x64x16xf32>
  %empty112 = tensor.empty() : tensor<2x4x16x16xf32>
  %transposed111 = linalg.transpose ins(%generic47 : tensor<2x16x4x16xf32>) outs(%empty112 : tensor<2x4x16x16xf32>) permutation = [0, 2, 1, 3]
  %c113 = arith.constant 0.000000000e+00 : f32
  %empty115 = tensor.empty() : tensor<2x4x16x64xf32>
  %init114 = linalg.fill ins(%c113 : f32) outs(%empty115 : tensor<2x4x16x64xf32>) -> tensor<2x4x16x64xf32>
  %collapsed116 = tensor.collapse_shape %transposed111 [[0, 1], [2], [3]] : tensor<2x4x16x16xf32> into tensor<8x16x16xf32>
  %collapsed117 = tensor.collapse_shape %generic104 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed118 = tensor.collapse_shape %init114 [[0, 1], [2], [3]] : tensor<2x4x16x64xf32> into tensor<8x16x64xf32>
  %bmm119 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed116, %collapsed117 : tensor<8x16x16xf32>, tensor<8x64x16xf32>) outs(%collapsed118 : tensor<8x16x64xf32>) -> tensor<8x16x64xf32>
  %expanded120 = tensor.expand_shape %bmm119 [[0, 1], [2], [3]] output_shape [2, 4, 16, 64] : tensor<8x16x64xf32> into tensor<2x4x16x64xf32>
  %c121 = arith.constant 2.500000000e-01 : f32
  %c122 = arith.constant 0xFF800000 : f32
  %empty123 = tensor.empty() : tensor<2x4x16x64xf32>
  %generic124 = linalg.generic {indexing_maps = [affine_map<(b, h, i, j) -> (b, h, i, j)>, affine_map<(b, h, i, j) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded120 : tensor<2x4x16x64xf32>) outs(%empty123 : tensor<2x4x16x64xf32>) {
  ^bb0(%in125: f32, %out126: f32):
    %v127 = linalg.index 2 : index
    %v128 = linalg.index 3 : index
    %v129 = arith.cmpi ule, %v128, %v127 : index
    %v130 = arith.mulf %in125, %c121 : f32
    %v131 = arith.select %v129, %v130, %c122 : f32
    linalg.yield %v131 : f32
  } -> tensor<2x4x16x64xf32>
  %empty132 = tensor.empty() : tensor<2x4x16x64xf32>
  %softmax133 = linalg.softmax dimension(3) ins(%generic124 : tensor<2x4x16x64xf32>) outs(%empty132 : tensor<2x4x16x64xf32>) -> tensor<2x4x16x64xf32>
  %c134 = arith.constant 0.000000000e+00 : f32
  %empty136 = tensor.empty() : tensor<2x4x16x16xf32>
  %init135 = linalg.fill ins(%c134 : f32) outs(%empty136 : tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %collapsed137 = tensor.collapse_shape %softmax133 [[0, 1], [2], [3]] : tensor<2x4x16x64xf32> into tensor<8x16x64xf32>
  %collapsed138 = tensor.collapse_shape %generic108 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed139 = tensor.collapse_shape %init135 [[0, 1], [2], [3]] : tensor<2x4x16x16xf32> into tensor<8x16x16xf32>
  %bmm140 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed137, %collapsed138 : tensor<8x16x64xf32>, tensor<8x64x16xf32>) outs(%collapsed139 : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %expanded141 = tensor.expand_shape %bmm140 [[0, 1], [2], [3]] output_shape [2, 4, 16, 16] : tensor<8x16x16xf32> into tensor<2x4x16x16xf32>
  %empty143 = tensor.empty() : tensor<2x16x4x16xf32>
  %transposed142 = linalg.transpose ins(%expanded141 : tensor<2x4x16x16xf32>) outs(%empty143 : tensor<2x16x4x16xf32>) permutation = [0, 2, 1, 3]
  %collapsed144 = tensor.collapse_shape %transposed142 [[0], [1], [2, 3]] : tensor<2x16x4x16xf32> into tensor<2x16x64xf32>
  %collapsed145 = tensor.collapse_shape %collapsed144 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c147 = arith.constant 0.000000000e+00 : f32
  %empty149 = tensor.empty() : tensor<32x64xf32>
  %init148 = linalg.fill ins(%c147 : f32) outs(%empty149 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %matmul146 = linalg.matmul ins(%collapsed145, %wo_0 : tensor<32x64xf32>, tensor<64x64xf32>) outs(%init148 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %expanded150 = tensor.expand_shape %matmul146 [[0, 1], [2]] output_shape [2, 16, 64] : tensor<32x64xf32> into tensor<2x16x64xf32>
  %empty151 = tensor.empty() : tensor<2x16x64xf32>
  %generic152 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%hidden, %expanded150 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%empty151 : tensor<2x16x64xf32>) {
  ^bb0(%in153: f32, %in154: f32, %out155: f32):
    %v156 = arith.addf %in153, %in154 : f32
    linalg.yield %v156 : f32
  } -> tensor<2x16x64xf32>
  %c157 = arith.constant 0.000000000e+00 : f32
  %empty159 = tensor.empty() : tensor<2x16xf32>
  %init158 = linalg.fill ins(%c157 : f32) outs(%empty159 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %generic160 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%generic152 : tensor<2x16x64xf32>) outs(%init158 : tensor<2x16xf32>) {
  ^bb0(%in161: f32, %out162: f32):
    %v163 = arith.mulf %in161, %in161 : f32
    %v164 = arith.addf %v163, %out162 : f32
    linalg.yield %v164 : f32
  } -> tensor<2x16xf32>
  %c165 = arith.constant 1.562500000e-02 : f32
  %c166 = arith.constant 1.000000000e-05 : f32
  %empty167 = tensor.empty() : tensor<2x16x64xf32>
  %generic168 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic152, %generic160, %mlp_norm_0 : tensor<2x16x64xf32>, tensor<2x16xf32>, tensor<64xf32>) outs(%empty167 : tensor<2x16x64xf32>) {
  ^bb0(%in169: f32, %in170: f32, %in171: f32, %out172: f32):
    %v173 = arith.mulf %in170, %c165 : f32
    %v174 = arith.addf %v173, %c166 : f32
    %v175 = math.rsqrt %v174 : f32
    %v176 = arith.mulf %in169, %v175 : f32
    %v177 = arith.mulf %v176, %in171 : f32
    linalg.yield %v177 : f32
  } -> tensor<2x16x64xf32>
  %collapsed178 = tensor.collapse_shape %generic168 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c180 = arith.constant 0.000000000e+00 : f32
  %empty182 = tensor.empty() : tensor<32x128xf32>
  %init181 = linalg.fill ins(%c180 : f32) outs(%empty182 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %matmul179 = linalg.matmul ins(%collapsed178, %w_gate_0 : tensor<32x64xf32>, tensor<64x128xf32>) outs(%init181 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %expanded183 = tensor.expand_shape %matmul179 [[0, 1], [2]] output_shape [2, 16, 128] : tensor<32x128xf32> into tensor<2x16x128xf32>
  %collapsed184 = tensor.collapse_shape %generic168 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c186 = arith.constant 0.000000000e+00 : f32
  %empty188 = tensor.empty() : tensor<32x128xf32>
  %init187 = linalg.fill ins(%c186 : f32) outs(%empty188 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %matmul185 = linalg.matmul ins(%collapsed184, %w_up_0 : tensor<32x64xf32>, tensor<64x128xf32>) outs(%init187 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %expanded189 = tensor.expand_shape %matmul185 [[0, 1], [2]] output_shape [2, 16, 128] : tensor<32x128xf32> into tensor<2x16x128xf32>
  %empty190 = tensor.empty() : tensor<2x16x128xf32>
  %generic191 = linalg.generic {indexing_maps = [affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded183, %expanded189 : tensor<2x16x128xf32>, tensor<2x16x128xf32>) outs(%empty190 : tensor<2x16x128xf32>) {
  ^bb0(%in192: f32, %in193: f32, %out194: f32):
    %c195 = arith.constant 1.000000000e+00 : f32
    %v196 = arith.negf %in192 : f32
    %v197 = math.exp %v196 : f32
    %v198 = arith.addf %c195, %v197 : f32
    %v199 = arith.divf %c195, %v198 : f32
    %v200 = arith.mulf %in192, %v199 : f32
    %v201 = arith.mulf %v200, %in193 : f32
    linalg.yield %v201 : f32
  } -> tensor<2x16x128xf32>
  %collapsed202 = tensor.collapse_shape %generic191 [[0, 1], [2]] : tensor<2x16x128xf32> into tensor<32x128xf32>
  %c204 = arith.constant 0.000000000e+00 : f32
  %empty206 = tensor.empty() : tensor<32x64xf32>
  %init205 = linalg.fill ins(%c204 : f32) outs(%empty206 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %matmul203 = linalg.matmul ins(%collapsed202, %w_down_0 : tensor<32x128xf32>, tensor<128x64xf32>) outs(%init205 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %expanded207 = tensor.expand_shape %matmul203 [[0, 1], [2]] output_shape [2, 16, 64] : tensor<32x64xf32> into tensor<2x16x64xf32>
  %empty208 = tensor.empty() : tensor<2x16x64xf32>
  %generic209 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic152, %expanded207 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%empty208 : tensor<2x16x64xf32>) {
  ^bb0(%in210: f32, %in211: f32, %out212: f32):
    %v213 = arith.addf %in210, %in211 : f32
    linalg.yield %v213 : f32
  } -> tensor<2x16x64xf32>
  %c214 = arith.constant 0.000000000e+00 : f32
  %empty216 = tensor.empty() : tensor<2x16xf32>
  %init215 = linalg.fill ins(%c214 : f32) outs(%empty216 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %generic217 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%generic209 : tensor<2x16x64xf32>) outs(%init215 : tensor<2x16xf32>) {
  ^bb0(%in218: f32, %out219: f32):
    %v220 = arith.mulf %in218, %in218 : f32
    %v221 = arith.addf %v220, %out219 : f32
    linalg.yield %v221 : f32
  } -> tensor<2x16xf32>
  %c222 = arith.constant 1.562500000e-02 : f32
  %c223 = arith.constant 1.000000000e-05 : f32
  %empty224 = tensor.empty() : tensor<2x16x64xf32>
  %generic225 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic209, %generic217, %attn_norm_1 : tensor<2x16x64xf32>, tensor<2x16xf32>, tensor<64xf32>) outs(%empty224 : tensor<2x16x64xf32>) {
  ^bb0(%in226: f32, %in227: f32, %in228: f32, %out229: f32):
    %v230 = arith.mulf %in227, %c222 : f32
    %v231 = arith.addf %v230, %c223 : f32
    %v232 = math.rsqrt %v231 : f32
    %v233 = arith.mulf %in226, %v232 : f32
    %v234 = arith.mulf %v233, %in228 : f32
    linalg.yield %v234 : f32
  } -> tensor<2x16x64xf32>
  %collapsed235 = tensor.collapse_shape %generic225 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c237 = arith.constant 0.000000000e+00 : f32
  %empty239 = tensor.empty() : tensor<32x64xf32>
  %init238 = linalg.fill ins(%c237 : f32) outs(%empty239 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %matmul236 = linalg.matmul ins(%collapsed235, %wq_1 : tensor<32x64xf32>, tensor<64x64xf32>) outs(%init238 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %expanded240 = tensor.expand_shape %matmul236 [[0, 1], [2]] output_shape [2, 16, 64] : tensor<32x64xf32> into tensor<2x16x64xf32>
  %expanded241 = tensor.expand_shape %expanded240 [[0], [1], [2, 3]] output_shape [2, 16, 4, 16] : tensor<2x16x64xf32> into tensor<2x16x4x16xf32>
  %collapsed242 = tensor.collapse_shape %generic225 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c244 = arith.constant 0.000000000e+00 : f32
  %empty246 = tensor.empty() : tensor<32x32xf32>
  %init245 = linalg.fill ins(%c244 : f32) outs(%empty246 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %matmul243 = linalg.matmul ins(%collapsed242, %wk_1 : tensor<32x64xf32>, tensor<64x32xf32>) outs(%init245 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %expanded247 = tensor.expand_shape %matmul243 [[0, 1], [2]] output_shape [2, 16, 32] : tensor<32x32xf32> into tensor<2x16x32xf32>
  %expanded248 = tensor.expand_shape %expanded247 [[0], [1], [2, 3]] output_shape [2, 16, 2, 16] : tensor<2x16x32xf32> into tensor<2x16x2x16xf32>
  %collapsed249 = tensor.collapse_shape %generic225 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c251 = arith.constant 0.000000000e+00 : f32
  %empty253 = tensor.empty() : tensor<32x32xf32>
  %init252 = linalg.fill ins(%c251 : f32) outs(%empty253 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %matmul250 = linalg.matmul ins(%collapsed249, %wv_1 : tensor<32x64xf32>, tensor<64x32xf32>) outs(%init252 : tensor<32x32xf32>) -> tensor<32x32xf32>
  %expanded254 = tensor.expand_shape %matmul250 [[0, 1], [2]] output_shape [2, 16, 32] : tensor<32x32xf32> into tensor<2x16x32xf32>
  %expanded255 = tensor.expand_shape %expanded254 [[0], [1], [2, 3]] output_shape [2, 16, 2, 16] : tensor<2x16x32xf32> into tensor<2x16x2x16xf32>
  %c256 = arith.constant 9.210340372e+00 : f32
  %c257 = arith.constant -1.250000000e-01 : f32
  %c258 = arith.constant 8 : index
  %empty259 = tensor.empty() : tensor<2x16x4x16xf32>
  %generic260 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded241, %expanded241 : tensor<2x16x4x16xf32>, tensor<2x16x4x16xf32>) outs(%empty259 : tensor<2x16x4x16xf32>) {
  ^bb0(%in261: f32, %in262: f32, %out263: f32):
    %v264 = linalg.index 1 : index
    %v265 = linalg.index 3 : index
    %v266 = arith.index_cast %v264 : index to i64
    %v267 = arith.uitofp %v266 : i64 to f32
    %v268 = arith.remui %v265, %c258 : index
    %v269 = arith.index_cast %v268 : index to i64
    %v270 = arith.uitofp %v269 : i64 to f32
    %v271 = arith.mulf %v270, %c257 : f32
    %v272 = arith.mulf %v271, %c256 : f32
    %v273 = math.exp %v272 : f32
    %v274 = arith.mulf %v267, %v273 : f32
    %v275 = arith.cmpi ult, %v265, %c258 : index
    %v276 = arith.negf %in262 : f32
    %v277 = arith.select %v275, %v276, %in262 : f32
    %v278 = math.cos %v274 : f32
    %v279 = math.sin %v274 : f32
    %v280 = arith.mulf %in261, %v278 : f32
    %v281 = arith.mulf %v277, %v279 : f32
    %v282 = arith.addf %v280, %v281 : f32
    linalg.yield %v282 : f32
  } -> tensor<2x16x4x16xf32>
  %c283 = arith.constant 9.210340372e+00 : f32
  %c284 = arith.constant -1.250000000e-01 : f32
  %c285 = arith.constant 8 : index
  %empty286 = tensor.empty() : tensor<2x16x2x16xf32>
  %generic287 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded248, %expanded248 : tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) outs(%empty286 : tensor<2x16x2x16xf32>) {
  ^bb0(%in288: f32, %in289: f32, %out290: f32):
    %v291 = linalg.index 1 : index
    %v292 = linalg.index 3 : index
    %v293 = arith.index_cast %v291 : index to i64
    %v294 = arith.uitofp %v293 : i64 to f32
    %v295 = arith.remui %v292, %c285 : index
    %v296 = arith.index_cast %v295 : index to i64
    %v297 = arith.uitofp %v296 : i64 to f32
    %v298 = arith.mulf %v297, %c284 : f32
    %v299 = arith.mulf %v298, %c283 : f32
    %v300 = math.exp %v299 : f32
    %v301 = arith.mulf %v294, %v300 : f32
    %v302 = arith.cmpi ult, %v292, %c285 : index
    %v303 = arith.negf %in289 : f32
    %v304 = arith.select %v302, %v303, %in289 : f32
    %v305 = math.cos %v301 : f32
    %v306 = math.sin %v301 : f32
    %v307 = arith.mulf %in288, %v305 : f32
    %v308 = arith.mulf %v304, %v306 : f32
    %v309 = arith.addf %v307, %v308 : f32
    linalg.yield %v309 : f32
  } -> tensor<2x16x2x16xf32>
  %empty311 = tensor.empty() : tensor<2x2x16x16xf32>
  %transposed310 = linalg.transpose ins(%generic287 : tensor<2x16x2x16xf32>) outs(%empty311 : tensor<2x2x16x16xf32>) permutation = [0, 2, 1, 3]
  %written312 = tensor.insert_slice %transposed310 into %k_cache_1[0, 0, 0, 0] [2, 2, 16, 16] [1, 1, 1, 1] : tensor<2x2x16x16xf32> into tensor<2x2x64x16xf32>
  %empty314 = tensor.empty() : tensor<2x2x16x16xf32>
  %transposed313 = linalg.transpose ins(%expanded255 : tensor<2x16x2x16xf32>) outs(%empty314 : tensor<2x2x16x16xf32>) permutation = [0, 2, 1, 3]
  %written315 = tensor.insert_slice %transposed313 into %v_cache_1[0, 0, 0, 0] [2, 2, 16, 16] [1, 1, 1, 1] : tensor<2x2x16x16xf32> into tensor<2x2x64x16xf32>
  %empty316 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic317 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written312 : tensor<2x2x64x16xf32>) outs(%empty316 : tensor<2x4x64x16xf32>) {
  ^bb0(%in318: f32, %out319: f32):
    linalg.yield %in318 : f32
  } -> tensor<2x4x64x16xf32>
  %empty320 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic321 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written315 : tensor<2x2x64x16xf32>) outs(%empty320 : tensor<2x4x64x16xf32>) {
  ^bb0(%in322: f32, %out323: f32):
    linalg.yield %in322 : f32
  } -> tensor<2x4x64x16xf32>
  %empty325 = tensor.empty() : tensor<2x4x16x16xf32>
  %transposed324 = linalg.transpose ins(%generic260 : tensor<2x16x4x16xf32>) outs(%empty325 : tensor<2x4x16x16xf32>) permutation = [0, 2, 1, 3]
  %c326 = arith.constant 0.000000000e+00 : f32
  %empty328 = tensor.empty() : tensor<2x4x16x64xf32>
  %init327 = linalg.fill ins(%c326 : f32) outs(%empty328 : tensor<2x4x16x64xf32>) -> tensor<2x4x16x64xf32>
  %collapsed329 = tensor.collapse_shape %transposed324 [[0, 1], [2], [3]] : tensor<2x4x16x16xf32> into tensor<8x16x16xf32>
  %collapsed330 = tensor.collapse_shape %generic317 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed331 = tensor.collapse_shape %init327 [[0, 1], [2], [3]] : tensor<2x4x16x64xf32> into tensor<8x16x64xf32>
  %bmm332 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed329, %collapsed330 : tensor<8x16x16xf32>, tensor<8x64x16xf32>) outs(%collapsed331 : tensor<8x16x64xf32>) -> tensor<8x16x64xf32>
  %expanded333 = tensor.expand_shape %bmm332 [[0, 1], [2], [3]] output_shape [2, 4, 16, 64] : tensor<8x16x64xf32> into tensor<2x4x16x64xf32>
  %c334 = arith.constant 2.500000000e-01 : f32
  %c335 = arith.constant 0xFF800000 : f32
  %empty336 = tensor.empty() : tensor<2x4x16x64xf32>
  %generic337 = linalg.generic {indexing_maps = [affine_map<(b, h, i, j) -> (b, h, i, j)>, affine_map<(b, h, i, j) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded333 : tensor<2x4x16x64xf32>) outs(%empty336 : tensor<2x4x16x64xf32>) {
  ^bb0(%in338: f32, %out339: f32):
    %v340 = linalg.index 2 : index
    %v341 = linalg.index 3 : index
    %v342 = arith.cmpi ule, %v341, %v340 : index
    %v343 = arith.mulf %in338, %c334 : f32
    %v344 = arith.select %v342, %v343, %c335 : f32
    linalg.yield %v344 : f32
  } -> tensor<2x4x16x64xf32>
  %empty345 = tensor.empty() : tensor<2x4x16x64xf32>
  %softmax346 = linalg.softmax dimension(3) ins(%generic337 : tensor<2x4x16x64xf32>) outs(%empty345 : tensor<2x4x16x64xf32>) -> tensor<2x4x16x64xf32>
  %c347 = arith.constant 0.000000000e+00 : f32
  %empty349 = tensor.empty() : tensor<2x4x16x16xf32>
  %init348 = linalg.fill ins(%c347 : f32) outs(%empty349 : tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %collapsed350 = tensor.collapse_shape %softmax346 [[0, 1], [2], [3]] : tensor<2x4x16x64xf32> into tensor<8x16x64xf32>
  %collapsed351 = tensor.collapse_shape %generic321 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed352 = tensor.collapse_shape %init348 [[0, 1], [2], [3]] : tensor<2x4x16x16xf32> into tensor<8x16x16xf32>
  %bmm353 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed350, %collapsed351 : tensor<8x16x64xf32>, tensor<8x64x16xf32>) outs(%collapsed352 : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %expanded354 = tensor.expand_shape %bmm353 [[0, 1], [2], [3]] output_shape [2, 4, 16, 16] : tensor<8x16x16xf32> into tensor<2x4x16x16xf32>
  %empty356 = tensor.empty() : tensor<2x16x4x16xf32>
  %transposed355 = linalg.transpose ins(%expanded354 : tensor<2x4x16x16xf32>) outs(%empty356 : tensor<2x16x4x16xf32>) permutation = [0, 2, 1, 3]
  %collapsed357 = tensor.collapse_shape %transposed355 [[0], [1], [2, 3]] : tensor<2x16x4x16xf32> into tensor<2x16x64xf32>
  %collapsed358 = tensor.collapse_shape %collapsed357 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c360 = arith.constant 0.000000000e+00 : f32
  %empty362 = tensor.empty() : tensor<32x64xf32>
  %init361 = linalg.fill ins(%c360 : f32) outs(%empty362 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %matmul359 = linalg.matmul ins(%collapsed358, %wo_1 : tensor<32x64xf32>, tensor<64x64xf32>) outs(%init361 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %expanded363 = tensor.expand_shape %matmul359 [[0, 1], [2]] output_shape [2, 16, 64] : tensor<32x64xf32> into tensor<2x16x64xf32>
  %empty364 = tensor.empty() : tensor<2x16x64xf32>
  %generic365 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic209, %expanded363 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%empty364 : tensor<2x16x64xf32>) {
  ^bb0(%in366: f32, %in367: f32, %out368: f32):
    %v369 = arith.addf %in366, %in367 : f32
    linalg.yield %v369 : f32
  } -> tensor<2x16x64xf32>
  %c370 = arith.constant 0.000000000e+00 : f32
  %empty372 = tensor.empty() : tensor<2x16xf32>
  %init371 = linalg.fill ins(%c370 : f32) outs(%empty372 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %generic373 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%generic365 : tensor<2x16x64xf32>) outs(%init371 : tensor<2x16xf32>) {
  ^bb0(%in374: f32, %out375: f32):
    %v376 = arith.mulf %in374, %in374 : f32
    %v377 = arith.addf %v376, %out375 : f32
    linalg.yield %v377 : f32
  } -> tensor<2x16xf32>
  %c378 = arith.constant 1.562500000e-02 : f32
  %c379 = arith.constant 1.000000000e-05 : f32
  %empty380 = tensor.empty() : tensor<2x16x64xf32>
  %generic381 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic365, %generic373, %mlp_norm_1 : tensor<2x16x64xf32>, tensor<2x16xf32>, tensor<64xf32>) outs(%empty380 : tensor<2x16x64xf32>) {
  ^bb0(%in382: f32, %in383: f32, %in384: f32, %out385: f32):
    %v386 = arith.mulf %in383, %c378 : f32
    %v387 = arith.addf %v386, %c379 : f32
    %v388 = math.rsqrt %v387 : f32
    %v389 = arith.mulf %in382, %v388 : f32
    %v390 = arith.mulf %v389, %in384 : f32
    linalg.yield %v390 : f32
  } -> tensor<2x16x64xf32>
  %collapsed391 = tensor.collapse_shape %generic381 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c393 = arith.constant 0.000000000e+00 : f32
  %empty395 = tensor.empty() : tensor<32x128xf32>
  %init394 = linalg.fill ins(%c393 : f32) outs(%empty395 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %matmul392 = linalg.matmul ins(%collapsed391, %w_gate_1 : tensor<32x64xf32>, tensor<64x128xf32>) outs(%init394 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %expanded396 = tensor.expand_shape %matmul392 [[0, 1], [2]] output_shape [2, 16, 128] : tensor<32x128xf32> into tensor<2x16x128xf32>
  %collapsed397 = tensor.collapse_shape %generic381 [[0, 1], [2]] : tensor<2x16x64xf32> into tensor<32x64xf32>
  %c399 = arith.constant 0.000000000e+00 : f32
  %empty401 = tensor.empty() : tensor<32x128xf32>
  %init400 = linalg.fill ins(%c399 : f32) outs(%empty401 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %matmul398 = linalg.matmul ins(%collapsed397, %w_up_1 : tensor<32x64xf32>, tensor<64x128xf32>) outs(%init400 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %expanded402 = tensor.expand_shape %matmul398 [[0, 1], [2]] output_shape [2, 16, 128] : tensor<32x128xf32> into tensor<2x16x128xf32>
  %empty403 = tensor.empty() : tensor<2x16x128xf32>
  %generic404 = linalg.generic {indexing_maps = [affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded396, %expanded402 : tensor<2x16x128xf32>, tensor<2x16x128xf32>) outs(%empty403 : tensor<2x16x128xf32>) {
  ^bb0(%in405: f32, %in406: f32, %out407: f32):
    %c408 = arith.constant 1.000000000e+00 : f32
    %v409 = arith.negf %in405 : f32
    %v410 = math.exp %v409 : f32
    %v411 = arith.addf %c408, %v410 : f32
    %v412 = arith.divf %c408, %v411 : f32
    %v413 = arith.mulf %in405, %v412 : f32
    %v414 = arith.mulf %v413, %in406 : f32
    linalg.yield %v414 : f32
  } -> tensor<2x16x128xf32>
  %collapsed415 = tensor.collapse_shape %generic404 [[0, 1], [2]] : tensor<2x16x128xf32> into tensor<32x128xf32>
  %c417 = arith.constant 0.000000000e+00 : f32
  %empty419 = tensor.empty() : tensor<32x64xf32>
  %init418 = linalg.fill ins(%c417 : f32) outs(%empty419 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %matmul416 = linalg.matmul ins(%collapsed415, %w_down_1 : tensor<32x128xf32>, tensor<128x64xf32>) outs(%init418 : tensor<32x64xf32>) -> tensor<32x64xf32>
  %expanded420 = tensor.expand_shape %matmul416 [[0, 1], [2]] output_shape [2, 16, 64] : tensor<32x64xf32> into tensor<2x16x64xf32>
  %empty421 = tensor.empty() : tensor<2x16x64xf32>
  %generic422 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic365, %expanded420 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%empty421 : tensor<2x16x64xf32>) {
  ^bb0(%in423: f32, %in424: f32, %out425: f32):
    %v426 = arith.addf %in423, %in424 : f32
    linalg.yield %v426 : f32
  } -> tensor<2x16x64xf32>
  return %generic422, %written99, %written102, %written312, %written315 : tensor<2x16x64xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>
}

func.func @decode(%hidden: tensor<2x1x64xf32>, %position: index, %k_cache_0: tensor<2x2x64x16xf32>, %v_cache_0: tensor<2x2x64x16xf32>, %k_cache_1: tensor<2x2x64x16xf32>, %v_cache_1: tensor<2x2x64x16xf32>, %attn_norm_0: tensor<64xf32>, %wq_0: tensor<64x64xf32>, %wk_0: tensor<64x32xf32>, %wv_0: tensor<64x32xf32>, %wo_0: tensor<64x64xf32>, %mlp_norm_0: tensor<64xf32>, %w_gate_0: tensor<64x128xf32>, %w_up_0: tensor<64x128xf32>, %w_down_0: tensor<128x64xf32>, %attn_norm_1: tensor<64xf32>, %wq_1: tensor<64x64xf32>, %wk_1: tensor<64x32xf32>, %wv_1: tensor<64x32xf32>, %wo_1: tensor<64x64xf32>, %mlp_norm_1: tensor<64xf32>, %w_gate_1: tensor<64x128xf32>, %w_up_1: tensor<64x128xf32>, %w_down_1: tensor<128x64xf32>)
    -> (tensor<2x1x64xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>) {
  %c1 = arith.constant 0.000000000e+00 : f32
  %empty3 = tensor.empty() : tensor<2x1xf32>
  %init2 = linalg.fill ins(%c1 : f32) outs(%empty3 : tensor<2x1xf32>) -> tensor<2x1xf32>
  %generic4 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%hidden : tensor<2x1x64xf32>) outs(%init2 : tensor<2x1xf32>) {
  ^bb0(%in5: f32, %out6: f32):
    %v7 = arith.mulf %in5, %in5 : f32
    %v8 = arith.addf %v7, %out6 : f32
    linalg.yield %v8 : f32
  } -> tensor<2x1xf32>
  %c9 = arith.constant 1.562500000e-02 : f32
  %c10 = arith.constant 1.000000000e-05 : f32
  %empty11 = tensor.empty() : tensor<2x1x64xf32>
  %generic12 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%hidden, %generic4, %attn_norm_0 : tensor<2x1x64xf32>, tensor<2x1xf32>, tensor<64xf32>) outs(%empty11 : tensor<2x1x64xf32>) {
  ^bb0(%in13: f32, %in14: f32, %in15: f32, %out16: f32):
    %v17 = arith.mulf %in14, %c9 : f32
    %v18 = arith.addf %v17, %c10 : f32
    %v19 = math.rsqrt %v18 : f32
    %v20 = arith.mulf %in13, %v19 : f32
    %v21 = arith.mulf %v20, %in15 : f32
    linalg.yield %v21 : f32
  } -> tensor<2x1x64xf32>
  %collapsed22 = tensor.collapse_shape %generic12 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c24 = arith.constant 0.000000000e+00 : f32
  %empty26 = tensor.empty() : tensor<2x64xf32>
  %init25 = linalg.fill ins(%c24 : f32) outs(%empty26 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %matmul23 = linalg.matmul ins(%collapsed22, %wq_0 : tensor<2x64xf32>, tensor<64x64xf32>) outs(%init25 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %expanded27 = tensor.expand_shape %matmul23 [[0, 1], [2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %expanded28 = tensor.expand_shape %expanded27 [[0], [1], [2, 3]] output_shape [2, 1, 4, 16] : tensor<2x1x64xf32> into tensor<2x1x4x16xf32>
  %collapsed29 = tensor.collapse_shape %generic12 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c31 = arith.constant 0.000000000e+00 : f32
  %empty33 = tensor.empty() : tensor<2x32xf32>
  %init32 = linalg.fill ins(%c31 : f32) outs(%empty33 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %matmul30 = linalg.matmul ins(%collapsed29, %wk_0 : tensor<2x64xf32>, tensor<64x32xf32>) outs(%init32 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %expanded34 = tensor.expand_shape %matmul30 [[0, 1], [2]] output_shape [2, 1, 32] : tensor<2x32xf32> into tensor<2x1x32xf32>
  %expanded35 = tensor.expand_shape %expanded34 [[0], [1], [2, 3]] output_shape [2, 1, 2, 16] : tensor<2x1x32xf32> into tensor<2x1x2x16xf32>
  %collapsed36 = tensor.collapse_shape %generic12 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c38 = arith.constant 0.000000000e+00 : f32
  %empty40 = tensor.empty() : tensor<2x32xf32>
  %init39 = linalg.fill ins(%c38 : f32) outs(%empty40 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %matmul37 = linalg.matmul ins(%collapsed36, %wv_0 : tensor<2x64xf32>, tensor<64x32xf32>) outs(%init39 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %expanded41 = tensor.expand_shape %matmul37 [[0, 1], [2]] output_shape [2, 1, 32] : tensor<2x32xf32> into tensor<2x1x32xf32>
  %expanded42 = tensor.expand_shape %expanded41 [[0], [1], [2, 3]] output_shape [2, 1, 2, 16] : tensor<2x1x32xf32> into tensor<2x1x2x16xf32>
  %c43 = arith.constant 9.210340372e+00 : f32
  %c44 = arith.constant -1.250000000e-01 : f32
  %c45 = arith.constant 8 : index
  %empty46 = tensor.empty() : tensor<2x1x4x16xf32>
  %generic47 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded28, %expanded28 : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>) outs(%empty46 : tensor<2x1x4x16xf32>) {
  ^bb0(%in48: f32, %in49: f32, %out50: f32):
    %v51 = linalg.index 1 : index
    %v52 = arith.addi %position, %v51 : index
    %v53 = linalg.index 3 : index
    %v54 = arith.index_cast %v52 : index to i64
    %v55 = arith.uitofp %v54 : i64 to f32
    %v56 = arith.remui %v53, %c45 : index
    %v57 = arith.index_cast %v56 : index to i64
    %v58 = arith.uitofp %v57 : i64 to f32
    %v59 = arith.mulf %v58, %c44 : f32
    %v60 = arith.mulf %v59, %c43 : f32
    %v61 = math.exp %v60 : f32
    %v62 = arith.mulf %v55, %v61 : f32
    %v63 = arith.cmpi ult, %v53, %c45 : index
    %v64 = arith.negf %in49 : f32
    %v65 = arith.select %v63, %v64, %in49 : f32
    %v66 = math.cos %v62 : f32
    %v67 = math.sin %v62 : f32
    %v68 = arith.mulf %in48, %v66 : f32
    %v69 = arith.mulf %v65, %v67 : f32
    %v70 = arith.addf %v68, %v69 : f32
    linalg.yield %v70 : f32
  } -> tensor<2x1x4x16xf32>
  %c71 = arith.constant 9.210340372e+00 : f32
  %c72 = arith.constant -1.250000000e-01 : f32
  %c73 = arith.constant 8 : index
  %empty74 = tensor.empty() : tensor<2x1x2x16xf32>
  %generic75 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded35, %expanded35 : tensor<2x1x2x16xf32>, tensor<2x1x2x16xf32>) outs(%empty74 : tensor<2x1x2x16xf32>) {
  ^bb0(%in76: f32, %in77: f32, %out78: f32):
    %v79 = linalg.index 1 : index
    %v80 = arith.addi %position, %v79 : index
    %v81 = linalg.index 3 : index
    %v82 = arith.index_cast %v80 : index to i64
    %v83 = arith.uitofp %v82 : i64 to f32
    %v84 = arith.remui %v81, %c73 : index
    %v85 = arith.index_cast %v84 : index to i64
    %v86 = arith.uitofp %v85 : i64 to f32
    %v87 = arith.mulf %v86, %c72 : f32
    %v88 = arith.mulf %v87, %c71 : f32
    %v89 = math.exp %v88 : f32
    %v90 = arith.mulf %v83, %v89 : f32
    %v91 = arith.cmpi ult, %v81, %c73 : index
    %v92 = arith.negf %in77 : f32
    %v93 = arith.select %v91, %v92, %in77 : f32
    %v94 = math.cos %v90 : f32
    %v95 = math.sin %v90 : f32
    %v96 = arith.mulf %in76, %v94 : f32
    %v97 = arith.mulf %v93, %v95 : f32
    %v98 = arith.addf %v96, %v97 : f32
    linalg.yield %v98 : f32
  } -> tensor<2x1x2x16xf32>
  %empty100 = tensor.empty() : tensor<2x2x1x16xf32>
  %transposed99 = linalg.transpose ins(%generic75 : tensor<2x1x2x16xf32>) outs(%empty100 : tensor<2x2x1x16xf32>) permutation = [0, 2, 1, 3]
  %written101 = tensor.insert_slice %transposed99 into %k_cache_0[0, 0, %position, 0] [2, 2, 1, 16] [1, 1, 1, 1] : tensor<2x2x1x16xf32> into tensor<2x2x64x16xf32>
  %empty103 = tensor.empty() : tensor<2x2x1x16xf32>
  %transposed102 = linalg.transpose ins(%expanded42 : tensor<2x1x2x16xf32>) outs(%empty103 : tensor<2x2x1x16xf32>) permutation = [0, 2, 1, 3]
  %written104 = tensor.insert_slice %transposed102 into %v_cache_0[0, 0, %position, 0] [2, 2, 1, 16] [1, 1, 1, 1] : tensor<2x2x1x16xf32> into tensor<2x2x64x16xf32>
  %empty105 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic106 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written101 : tensor<2x2x64x16xf32>) outs(%empty105 : tensor<2x4x64x16xf32>) {
  ^bb0(%in107: f32, %out108: f32):
    linalg.yield %in107 : f32
  } -> tensor<2x4x64x16xf32>
  %empty109 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic110 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written104 : tensor<2x2x64x16xf32>) outs(%empty109 : tensor<2x4x64x16xf32>) {
  ^bb0(%in111: f32, %out112: f32):
    linalg.yield %in111 : f32
  } -> tensor<2x4x64x16xf32>
  %empty114 = tensor.empty() : tensor<2x4x1x16xf32>
  %transposed113 = linalg.transpose ins(%generic47 : tensor<2x1x4x16xf32>) outs(%empty114 : tensor<2x4x1x16xf32>) permutation = [0, 2, 1, 3]
  %c115 = arith.constant 0.000000000e+00 : f32
  %empty117 = tensor.empty() : tensor<2x4x1x64xf32>
  %init116 = linalg.fill ins(%c115 : f32) outs(%empty117 : tensor<2x4x1x64xf32>) -> tensor<2x4x1x64xf32>
  %collapsed118 = tensor.collapse_shape %transposed113 [[0, 1], [2], [3]] : tensor<2x4x1x16xf32> into tensor<8x1x16xf32>
  %collapsed119 = tensor.collapse_shape %generic106 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed120 = tensor.collapse_shape %init116 [[0, 1], [2], [3]] : tensor<2x4x1x64xf32> into tensor<8x1x64xf32>
  %bmm121 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed118, %collapsed119 : tensor<8x1x16xf32>, tensor<8x64x16xf32>) outs(%collapsed120 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %expanded122 = tensor.expand_shape %bmm121 [[0, 1], [2], [3]] output_shape [2, 4, 1, 64] : tensor<8x1x64xf32> into tensor<2x4x1x64xf32>
  %c123 = arith.constant 2.500000000e-01 : f32
  %c124 = arith.constant 0xFF800000 : f32
  %empty125 = tensor.empty() : tensor<2x4x1x64xf32>
  %generic126 = linalg.generic {indexing_maps = [affine_map<(b, h, i, j) -> (b, h, i, j)>, affine_map<(b, h, i, j) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded122 : tensor<2x4x1x64xf32>) outs(%empty125 : tensor<2x4x1x64xf32>) {
  ^bb0(%in127: f32, %out128: f32):
    %v129 = linalg.index 2 : index
    %v130 = arith.addi %position, %v129 : index
    %v131 = linalg.index 3 : index
    %v132 = arith.cmpi ule, %v131, %v130 : index
    %v133 = arith.mulf %in127, %c123 : f32
    %v134 = arith.select %v132, %v133, %c124 : f32
    linalg.yield %v134 : f32
  } -> tensor<2x4x1x64xf32>
  %empty135 = tensor.empty() : tensor<2x4x1x64xf32>
  %softmax136 = linalg.softmax dimension(3) ins(%generic126 : tensor<2x4x1x64xf32>) outs(%empty135 : tensor<2x4x1x64xf32>) -> tensor<2x4x1x64xf32>
  %c137 = arith.constant 0.000000000e+00 : f32
  %empty139 = tensor.empty() : tensor<2x4x1x16xf32>
  %init138 = linalg.fill ins(%c137 : f32) outs(%empty139 : tensor<2x4x1x16xf32>) -> tensor<2x4x1x16xf32>
  %collapsed140 = tensor.collapse_shape %softmax136 [[0, 1], [2], [3]] : tensor<2x4x1x64xf32> into tensor<8x1x64xf32>
  %collapsed141 = tensor.collapse_shape %generic110 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed142 = tensor.collapse_shape %init138 [[0, 1], [2], [3]] : tensor<2x4x1x16xf32> into tensor<8x1x16xf32>
  %bmm143 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed140, %collapsed141 : tensor<8x1x64xf32>, tensor<8x64x16xf32>) outs(%collapsed142 : tensor<8x1x16xf32>) -> tensor<8x1x16xf32>
  %expanded144 = tensor.expand_shape %bmm143 [[0, 1], [2], [3]] output_shape [2, 4, 1, 16] : tensor<8x1x16xf32> into tensor<2x4x1x16xf32>
  %empty146 = tensor.empty() : tensor<2x1x4x16xf32>
  %transposed145 = linalg.transpose ins(%expanded144 : tensor<2x4x1x16xf32>) outs(%empty146 : tensor<2x1x4x16xf32>) permutation = [0, 2, 1, 3]
  %collapsed147 = tensor.collapse_shape %transposed145 [[0], [1], [2, 3]] : tensor<2x1x4x16xf32> into tensor<2x1x64xf32>
  %collapsed148 = tensor.collapse_shape %collapsed147 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c150 = arith.constant 0.000000000e+00 : f32
  %empty152 = tensor.empty() : tensor<2x64xf32>
  %init151 = linalg.fill ins(%c150 : f32) outs(%empty152 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %matmul149 = linalg.matmul ins(%collapsed148, %wo_0 : tensor<2x64xf32>, tensor<64x64xf32>) outs(%init151 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %expanded153 = tensor.expand_shape %matmul149 [[0, 1], [2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %empty154 = tensor.empty() : tensor<2x1x64xf32>
  %generic155 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%hidden, %expanded153 : tensor<2x1x64xf32>, tensor<2x1x64xf32>) outs(%empty154 : tensor<2x1x64xf32>) {
  ^bb0(%in156: f32, %in157: f32, %out158: f32):
    %v159 = arith.addf %in156, %in157 : f32
    linalg.yield %v159 : f32
  } -> tensor<2x1x64xf32>
  %c160 = arith.constant 0.000000000e+00 : f32
  %empty162 = tensor.empty() : tensor<2x1xf32>
  %init161 = linalg.fill ins(%c160 : f32) outs(%empty162 : tensor<2x1xf32>) -> tensor<2x1xf32>
  %generic163 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%generic155 : tensor<2x1x64xf32>) outs(%init161 : tensor<2x1xf32>) {
  ^bb0(%in164: f32, %out165: f32):
    %v166 = arith.mulf %in164, %in164 : f32
    %v167 = arith.addf %v166, %out165 : f32
    linalg.yield %v167 : f32
  } -> tensor<2x1xf32>
  %c168 = arith.constant 1.562500000e-02 : f32
  %c169 = arith.constant 1.000000000e-05 : f32
  %empty170 = tensor.empty() : tensor<2x1x64xf32>
  %generic171 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic155, %generic163, %mlp_norm_0 : tensor<2x1x64xf32>, tensor<2x1xf32>, tensor<64xf32>) outs(%empty170 : tensor<2x1x64xf32>) {
  ^bb0(%in172: f32, %in173: f32, %in174: f32, %out175: f32):
    %v176 = arith.mulf %in173, %c168 : f32
    %v177 = arith.addf %v176, %c169 : f32
    %v178 = math.rsqrt %v177 : f32
    %v179 = arith.mulf %in172, %v178 : f32
    %v180 = arith.mulf %v179, %in174 : f32
    linalg.yield %v180 : f32
  } -> tensor<2x1x64xf32>
  %collapsed181 = tensor.collapse_shape %generic171 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c183 = arith.constant 0.000000000e+00 : f32
  %empty185 = tensor.empty() : tensor<2x128xf32>
  %init184 = linalg.fill ins(%c183 : f32) outs(%empty185 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %matmul182 = linalg.matmul ins(%collapsed181, %w_gate_0 : tensor<2x64xf32>, tensor<64x128xf32>) outs(%init184 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %expanded186 = tensor.expand_shape %matmul182 [[0, 1], [2]] output_shape [2, 1, 128] : tensor<2x128xf32> into tensor<2x1x128xf32>
  %collapsed187 = tensor.collapse_shape %generic171 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c189 = arith.constant 0.000000000e+00 : f32
  %empty191 = tensor.empty() : tensor<2x128xf32>
  %init190 = linalg.fill ins(%c189 : f32) outs(%empty191 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %matmul188 = linalg.matmul ins(%collapsed187, %w_up_0 : tensor<2x64xf32>, tensor<64x128xf32>) outs(%init190 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %expanded192 = tensor.expand_shape %matmul188 [[0, 1], [2]] output_shape [2, 1, 128] : tensor<2x128xf32> into tensor<2x1x128xf32>
  %empty193 = tensor.empty() : tensor<2x1x128xf32>
  %generic194 = linalg.generic {indexing_maps = [affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded186, %expanded192 : tensor<2x1x128xf32>, tensor<2x1x128xf32>) outs(%empty193 : tensor<2x1x128xf32>) {
  ^bb0(%in195: f32, %in196: f32, %out197: f32):
    %c198 = arith.constant 1.000000000e+00 : f32
    %v199 = arith.negf %in195 : f32
    %v200 = math.exp %v199 : f32
    %v201 = arith.addf %c198, %v200 : f32
    %v202 = arith.divf %c198, %v201 : f32
    %v203 = arith.mulf %in195, %v202 : f32
    %v204 = arith.mulf %v203, %in196 : f32
    linalg.yield %v204 : f32
  } -> tensor<2x1x128xf32>
  %collapsed205 = tensor.collapse_shape %generic194 [[0, 1], [2]] : tensor<2x1x128xf32> into tensor<2x128xf32>
  %c207 = arith.constant 0.000000000e+00 : f32
  %empty209 = tensor.empty() : tensor<2x64xf32>
  %init208 = linalg.fill ins(%c207 : f32) outs(%empty209 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %matmul206 = linalg.matmul ins(%collapsed205, %w_down_0 : tensor<2x128xf32>, tensor<128x64xf32>) outs(%init208 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %expanded210 = tensor.expand_shape %matmul206 [[0, 1], [2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %empty211 = tensor.empty() : tensor<2x1x64xf32>
  %generic212 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic155, %expanded210 : tensor<2x1x64xf32>, tensor<2x1x64xf32>) outs(%empty211 : tensor<2x1x64xf32>) {
  ^bb0(%in213: f32, %in214: f32, %out215: f32):
    %v216 = arith.addf %in213, %in214 : f32
    linalg.yield %v216 : f32
  } -> tensor<2x1x64xf32>
  %c217 = arith.constant 0.000000000e+00 : f32
  %empty219 = tensor.empty() : tensor<2x1xf32>
  %init218 = linalg.fill ins(%c217 : f32) outs(%empty219 : tensor<2x1xf32>) -> tensor<2x1xf32>
  %generic220 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%generic212 : tensor<2x1x64xf32>) outs(%init218 : tensor<2x1xf32>) {
  ^bb0(%in221: f32, %out222: f32):
    %v223 = arith.mulf %in221, %in221 : f32
    %v224 = arith.addf %v223, %out222 : f32
    linalg.yield %v224 : f32
  } -> tensor<2x1xf32>
  %c225 = arith.constant 1.562500000e-02 : f32
  %c226 = arith.constant 1.000000000e-05 : f32
  %empty227 = tensor.empty() : tensor<2x1x64xf32>
  %generic228 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic212, %generic220, %attn_norm_1 : tensor<2x1x64xf32>, tensor<2x1xf32>, tensor<64xf32>) outs(%empty227 : tensor<2x1x64xf32>) {
  ^bb0(%in229: f32, %in230: f32, %in231: f32, %out232: f32):
    %v233 = arith.mulf %in230, %c225 : f32
    %v234 = arith.addf %v233, %c226 : f32
    %v235 = math.rsqrt %v234 : f32
    %v236 = arith.mulf %in229, %v235 : f32
    %v237 = arith.mulf %v236, %in231 : f32
    linalg.yield %v237 : f32
  } -> tensor<2x1x64xf32>
  %collapsed238 = tensor.collapse_shape %generic228 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c240 = arith.constant 0.000000000e+00 : f32
  %empty242 = tensor.empty() : tensor<2x64xf32>
  %init241 = linalg.fill ins(%c240 : f32) outs(%empty242 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %matmul239 = linalg.matmul ins(%collapsed238, %wq_1 : tensor<2x64xf32>, tensor<64x64xf32>) outs(%init241 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %expanded243 = tensor.expand_shape %matmul239 [[0, 1], [2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %expanded244 = tensor.expand_shape %expanded243 [[0], [1], [2, 3]] output_shape [2, 1, 4, 16] : tensor<2x1x64xf32> into tensor<2x1x4x16xf32>
  %collapsed245 = tensor.collapse_shape %generic228 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c247 = arith.constant 0.000000000e+00 : f32
  %empty249 = tensor.empty() : tensor<2x32xf32>
  %init248 = linalg.fill ins(%c247 : f32) outs(%empty249 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %matmul246 = linalg.matmul ins(%collapsed245, %wk_1 : tensor<2x64xf32>, tensor<64x32xf32>) outs(%init248 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %expanded250 = tensor.expand_shape %matmul246 [[0, 1], [2]] output_shape [2, 1, 32] : tensor<2x32xf32> into tensor<2x1x32xf32>
  %expanded251 = tensor.expand_shape %expanded250 [[0], [1], [2, 3]] output_shape [2, 1, 2, 16] : tensor<2x1x32xf32> into tensor<2x1x2x16xf32>
  %collapsed252 = tensor.collapse_shape %generic228 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c254 = arith.constant 0.000000000e+00 : f32
  %empty256 = tensor.empty() : tensor<2x32xf32>
  %init255 = linalg.fill ins(%c254 : f32) outs(%empty256 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %matmul253 = linalg.matmul ins(%collapsed252, %wv_1 : tensor<2x64xf32>, tensor<64x32xf32>) outs(%init255 : tensor<2x32xf32>) -> tensor<2x32xf32>
  %expanded257 = tensor.expand_shape %matmul253 [[0, 1], [2]] output_shape [2, 1, 32] : tensor<2x32xf32> into tensor<2x1x32xf32>
  %expanded258 = tensor.expand_shape %expanded257 [[0], [1], [2, 3]] output_shape [2, 1, 2, 16] : tensor<2x1x32xf32> into tensor<2x1x2x16xf32>
  %c259 = arith.constant 9.210340372e+00 : f32
  %c260 = arith.constant -1.250000000e-01 : f32
  %c261 = arith.constant 8 : index
  %empty262 = tensor.empty() : tensor<2x1x4x16xf32>
  %generic263 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded244, %expanded244 : tensor<2x1x4x16xf32>, tensor<2x1x4x16xf32>) outs(%empty262 : tensor<2x1x4x16xf32>) {
  ^bb0(%in264: f32, %in265: f32, %out266: f32):
    %v267 = linalg.index 1 : index
    %v268 = arith.addi %position, %v267 : index
    %v269 = linalg.index 3 : index
    %v270 = arith.index_cast %v268 : index to i64
    %v271 = arith.uitofp %v270 : i64 to f32
    %v272 = arith.remui %v269, %c261 : index
    %v273 = arith.index_cast %v272 : index to i64
    %v274 = arith.uitofp %v273 : i64 to f32
    %v275 = arith.mulf %v274, %c260 : f32
    %v276 = arith.mulf %v275, %c259 : f32
    %v277 = math.exp %v276 : f32
    %v278 = arith.mulf %v271, %v277 : f32
    %v279 = arith.cmpi ult, %v269, %c261 : index
    %v280 = arith.negf %in265 : f32
    %v281 = arith.select %v279, %v280, %in265 : f32
    %v282 = math.cos %v278 : f32
    %v283 = math.sin %v278 : f32
    %v284 = arith.mulf %in264, %v282 : f32
    %v285 = arith.mulf %v281, %v283 : f32
    %v286 = arith.addf %v284, %v285 : f32
    linalg.yield %v286 : f32
  } -> tensor<2x1x4x16xf32>
  %c287 = arith.constant 9.210340372e+00 : f32
  %c288 = arith.constant -1.250000000e-01 : f32
  %c289 = arith.constant 8 : index
  %empty290 = tensor.empty() : tensor<2x1x2x16xf32>
  %generic291 = linalg.generic {indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>, affine_map<(b, t, h, d) -> (b, t, h, (d + 8) mod 16)>, affine_map<(b, t, h, d) -> (b, t, h, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded251, %expanded251 : tensor<2x1x2x16xf32>, tensor<2x1x2x16xf32>) outs(%empty290 : tensor<2x1x2x16xf32>) {
  ^bb0(%in292: f32, %in293: f32, %out294: f32):
    %v295 = linalg.index 1 : index
    %v296 = arith.addi %position, %v295 : index
    %v297 = linalg.index 3 : index
    %v298 = arith.index_cast %v296 : index to i64
    %v299 = arith.uitofp %v298 : i64 to f32
    %v300 = arith.remui %v297, %c289 : index
    %v301 = arith.index_cast %v300 : index to i64
    %v302 = arith.uitofp %v301 : i64 to f32
    %v303 = arith.mulf %v302, %c288 : f32
    %v304 = arith.mulf %v303, %c287 : f32
    %v305 = math.exp %v304 : f32
    %v306 = arith.mulf %v299, %v305 : f32
    %v307 = arith.cmpi ult, %v297, %c289 : index
    %v308 = arith.negf %in293 : f32
    %v309 = arith.select %v307, %v308, %in293 : f32
    %v310 = math.cos %v306 : f32
    %v311 = math.sin %v306 : f32
    %v312 = arith.mulf %in292, %v310 : f32
    %v313 = arith.mulf %v309, %v311 : f32
    %v314 = arith.addf %v312, %v313 : f32
    linalg.yield %v314 : f32
  } -> tensor<2x1x2x16xf32>
  %empty316 = tensor.empty() : tensor<2x2x1x16xf32>
  %transposed315 = linalg.transpose ins(%generic291 : tensor<2x1x2x16xf32>) outs(%empty316 : tensor<2x2x1x16xf32>) permutation = [0, 2, 1, 3]
  %written317 = tensor.insert_slice %transposed315 into %k_cache_1[0, 0, %position, 0] [2, 2, 1, 16] [1, 1, 1, 1] : tensor<2x2x1x16xf32> into tensor<2x2x64x16xf32>
  %empty319 = tensor.empty() : tensor<2x2x1x16xf32>
  %transposed318 = linalg.transpose ins(%expanded258 : tensor<2x1x2x16xf32>) outs(%empty319 : tensor<2x2x1x16xf32>) permutation = [0, 2, 1, 3]
  %written320 = tensor.insert_slice %transposed318 into %v_cache_1[0, 0, %position, 0] [2, 2, 1, 16] [1, 1, 1, 1] : tensor<2x2x1x16xf32> into tensor<2x2x64x16xf32>
  %empty321 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic322 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written317 : tensor<2x2x64x16xf32>) outs(%empty321 : tensor<2x4x64x16xf32>) {
  ^bb0(%in323: f32, %out324: f32):
    linalg.yield %in323 : f32
  } -> tensor<2x4x64x16xf32>
  %empty325 = tensor.empty() : tensor<2x4x64x16xf32>
  %generic326 = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h floordiv 2, s, d)>, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%written320 : tensor<2x2x64x16xf32>) outs(%empty325 : tensor<2x4x64x16xf32>) {
  ^bb0(%in327: f32, %out328: f32):
    linalg.yield %in327 : f32
  } -> tensor<2x4x64x16xf32>
  %empty330 = tensor.empty() : tensor<2x4x1x16xf32>
  %transposed329 = linalg.transpose ins(%generic263 : tensor<2x1x4x16xf32>) outs(%empty330 : tensor<2x4x1x16xf32>) permutation = [0, 2, 1, 3]
  %c331 = arith.constant 0.000000000e+00 : f32
  %empty333 = tensor.empty() : tensor<2x4x1x64xf32>
  %init332 = linalg.fill ins(%c331 : f32) outs(%empty333 : tensor<2x4x1x64xf32>) -> tensor<2x4x1x64xf32>
  %collapsed334 = tensor.collapse_shape %transposed329 [[0, 1], [2], [3]] : tensor<2x4x1x16xf32> into tensor<8x1x16xf32>
  %collapsed335 = tensor.collapse_shape %generic322 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed336 = tensor.collapse_shape %init332 [[0, 1], [2], [3]] : tensor<2x4x1x64xf32> into tensor<8x1x64xf32>
  %bmm337 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed334, %collapsed335 : tensor<8x1x16xf32>, tensor<8x64x16xf32>) outs(%collapsed336 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %expanded338 = tensor.expand_shape %bmm337 [[0, 1], [2], [3]] output_shape [2, 4, 1, 64] : tensor<8x1x64xf32> into tensor<2x4x1x64xf32>
  %c339 = arith.constant 2.500000000e-01 : f32
  %c340 = arith.constant 0xFF800000 : f32
  %empty341 = tensor.empty() : tensor<2x4x1x64xf32>
  %generic342 = linalg.generic {indexing_maps = [affine_map<(b, h, i, j) -> (b, h, i, j)>, affine_map<(b, h, i, j) -> (b, h, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded338 : tensor<2x4x1x64xf32>) outs(%empty341 : tensor<2x4x1x64xf32>) {
  ^bb0(%in343: f32, %out344: f32):
    %v345 = linalg.index 2 : index
    %v346 = arith.addi %position, %v345 : index
    %v347 = linalg.index 3 : index
    %v348 = arith.cmpi ule, %v347, %v346 : index
    %v349 = arith.mulf %in343, %c339 : f32
    %v350 = arith.select %v348, %v349, %c340 : f32
    linalg.yield %v350 : f32
  } -> tensor<2x4x1x64xf32>
  %empty351 = tensor.empty() : tensor<2x4x1x64xf32>
  %softmax352 = linalg.softmax dimension(3) ins(%generic342 : tensor<2x4x1x64xf32>) outs(%empty351 : tensor<2x4x1x64xf32>) -> tensor<2x4x1x64xf32>
  %c353 = arith.constant 0.000000000e+00 : f32
  %empty355 = tensor.empty() : tensor<2x4x1x16xf32>
  %init354 = linalg.fill ins(%c353 : f32) outs(%empty355 : tensor<2x4x1x16xf32>) -> tensor<2x4x1x16xf32>
  %collapsed356 = tensor.collapse_shape %softmax352 [[0, 1], [2], [3]] : tensor<2x4x1x64xf32> into tensor<8x1x64xf32>
  %collapsed357 = tensor.collapse_shape %generic326 [[0, 1], [2], [3]] : tensor<2x4x64x16xf32> into tensor<8x64x16xf32>
  %collapsed358 = tensor.collapse_shape %init354 [[0, 1], [2], [3]] : tensor<2x4x1x16xf32> into tensor<8x1x16xf32>
  %bmm359 = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%collapsed356, %collapsed357 : tensor<8x1x64xf32>, tensor<8x64x16xf32>) outs(%collapsed358 : tensor<8x1x16xf32>) -> tensor<8x1x16xf32>
  %expanded360 = tensor.expand_shape %bmm359 [[0, 1], [2], [3]] output_shape [2, 4, 1, 16] : tensor<8x1x16xf32> into tensor<2x4x1x16xf32>
  %empty362 = tensor.empty() : tensor<2x1x4x16xf32>
  %transposed361 = linalg.transpose ins(%expanded360 : tensor<2x4x1x16xf32>) outs(%empty362 : tensor<2x1x4x16xf32>) permutation = [0, 2, 1, 3]
  %collapsed363 = tensor.collapse_shape %transposed361 [[0], [1], [2, 3]] : tensor<2x1x4x16xf32> into tensor<2x1x64xf32>
  %collapsed364 = tensor.collapse_shape %collapsed363 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c366 = arith.constant 0.000000000e+00 : f32
  %empty368 = tensor.empty() : tensor<2x64xf32>
  %init367 = linalg.fill ins(%c366 : f32) outs(%empty368 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %matmul365 = linalg.matmul ins(%collapsed364, %wo_1 : tensor<2x64xf32>, tensor<64x64xf32>) outs(%init367 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %expanded369 = tensor.expand_shape %matmul365 [[0, 1], [2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %empty370 = tensor.empty() : tensor<2x1x64xf32>
  %generic371 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic212, %expanded369 : tensor<2x1x64xf32>, tensor<2x1x64xf32>) outs(%empty370 : tensor<2x1x64xf32>) {
  ^bb0(%in372: f32, %in373: f32, %out374: f32):
    %v375 = arith.addf %in372, %in373 : f32
    linalg.yield %v375 : f32
  } -> tensor<2x1x64xf32>
  %c376 = arith.constant 0.000000000e+00 : f32
  %empty378 = tensor.empty() : tensor<2x1xf32>
  %init377 = linalg.fill ins(%c376 : f32) outs(%empty378 : tensor<2x1xf32>) -> tensor<2x1xf32>
  %generic379 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%generic371 : tensor<2x1x64xf32>) outs(%init377 : tensor<2x1xf32>) {
  ^bb0(%in380: f32, %out381: f32):
    %v382 = arith.mulf %in380, %in380 : f32
    %v383 = arith.addf %v382, %out381 : f32
    linalg.yield %v383 : f32
  } -> tensor<2x1xf32>
  %c384 = arith.constant 1.562500000e-02 : f32
  %c385 = arith.constant 1.000000000e-05 : f32
  %empty386 = tensor.empty() : tensor<2x1x64xf32>
  %generic387 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t)>, affine_map<(b, t, e) -> (e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic371, %generic379, %mlp_norm_1 : tensor<2x1x64xf32>, tensor<2x1xf32>, tensor<64xf32>) outs(%empty386 : tensor<2x1x64xf32>) {
  ^bb0(%in388: f32, %in389: f32, %in390: f32, %out391: f32):
    %v392 = arith.mulf %in389, %c384 : f32
    %v393 = arith.addf %v392, %c385 : f32
    %v394 = math.rsqrt %v393 : f32
    %v395 = arith.mulf %in388, %v394 : f32
    %v396 = arith.mulf %v395, %in390 : f32
    linalg.yield %v396 : f32
  } -> tensor<2x1x64xf32>
  %collapsed397 = tensor.collapse_shape %generic387 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c399 = arith.constant 0.000000000e+00 : f32
  %empty401 = tensor.empty() : tensor<2x128xf32>
  %init400 = linalg.fill ins(%c399 : f32) outs(%empty401 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %matmul398 = linalg.matmul ins(%collapsed397, %w_gate_1 : tensor<2x64xf32>, tensor<64x128xf32>) outs(%init400 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %expanded402 = tensor.expand_shape %matmul398 [[0, 1], [2]] output_shape [2, 1, 128] : tensor<2x128xf32> into tensor<2x1x128xf32>
  %collapsed403 = tensor.collapse_shape %generic387 [[0, 1], [2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  %c405 = arith.constant 0.000000000e+00 : f32
  %empty407 = tensor.empty() : tensor<2x128xf32>
  %init406 = linalg.fill ins(%c405 : f32) outs(%empty407 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %matmul404 = linalg.matmul ins(%collapsed403, %w_up_1 : tensor<2x64xf32>, tensor<64x128xf32>) outs(%init406 : tensor<2x128xf32>) -> tensor<2x128xf32>
  %expanded408 = tensor.expand_shape %matmul404 [[0, 1], [2]] output_shape [2, 1, 128] : tensor<2x128xf32> into tensor<2x1x128xf32>
  %empty409 = tensor.empty() : tensor<2x1x128xf32>
  %generic410 = linalg.generic {indexing_maps = [affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>, affine_map<(b, t, f) -> (b, t, f)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded402, %expanded408 : tensor<2x1x128xf32>, tensor<2x1x128xf32>) outs(%empty409 : tensor<2x1x128xf32>) {
  ^bb0(%in411: f32, %in412: f32, %out413: f32):
    %c414 = arith.constant 1.000000000e+00 : f32
    %v415 = arith.negf %in411 : f32
    %v416 = math.exp %v415 : f32
    %v417 = arith.addf %c414, %v416 : f32
    %v418 = arith.divf %c414, %v417 : f32
    %v419 = arith.mulf %in411, %v418 : f32
    %v420 = arith.mulf %v419, %in412 : f32
    linalg.yield %v420 : f32
  } -> tensor<2x1x128xf32>
  %collapsed421 = tensor.collapse_shape %generic410 [[0, 1], [2]] : tensor<2x1x128xf32> into tensor<2x128xf32>
  %c423 = arith.constant 0.000000000e+00 : f32
  %empty425 = tensor.empty() : tensor<2x64xf32>
  %init424 = linalg.fill ins(%c423 : f32) outs(%empty425 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %matmul422 = linalg.matmul ins(%collapsed421, %w_down_1 : tensor<2x128xf32>, tensor<128x64xf32>) outs(%init424 : tensor<2x64xf32>) -> tensor<2x64xf32>
  %expanded426 = tensor.expand_shape %matmul422 [[0, 1], [2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %empty427 = tensor.empty() : tensor<2x1x64xf32>
  %generic428 = linalg.generic {indexing_maps = [affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>, affine_map<(b, t, e) -> (b, t, e)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%generic371, %expanded426 : tensor<2x1x64xf32>, tensor<2x1x64xf32>) outs(%empty427 : tensor<2x1x64xf32>) {
  ^bb0(%in429: f32, %in430: f32, %out431: f32):
    %v432 = arith.addf %in429, %in430 : f32
    linalg.yield %v432 : f32
  } -> tensor<2x1x64xf32>
  return %generic428, %written101, %written104, %written317, %written320 : tensor<2x1x64xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>
}
