/*
 * The runtime's global symbols, and how each compiled model keeps them
 * private.
 *
 * Every output folder carries its own copy of the runtime, built for that
 * model's target and thread count. So that any number of models link into
 * one program, the generated Makefile compiles the copy (and the model)
 * with -DRN_NAMESPACE=NAME_, and this header renames every global runtime
 * symbol rn_x to NAME_rn_x: libNAME.a then defines only NAME_ symbols, and
 * two models never share (or clash on) a runtime function, a thread pool
 * or the profiling hook. Without RN_NAMESPACE (the compiler itself, the
 * unit tests, libresnetc_rt.a) the names stay rn_x.
 *
 * This list is the one owner of the runtime's external names: a function
 * or variable with external linkage that is not listed here escapes the
 * prefix, and the multi-model test (tests/multi) fails on it through nm.
 */
#ifndef RESNETC_NAMESPACE_H
#define RESNETC_NAMESPACE_H

#ifdef RN_NAMESPACE
#define RN_NS_CAT_(a, b) a##b
#define RN_NS_CAT(a, b) RN_NS_CAT_(a, b)
#define RN_NS(x) RN_NS_CAT(RN_NAMESPACE, x)

#define rn_batchnorm_f32 RN_NS(rn_batchnorm_f32)
#define rn_bf16_to_f32 RN_NS(rn_bf16_to_f32)
#define rn_binary RN_NS(rn_binary)
#define rn_cast RN_NS(rn_cast)
#define rn_conv2d_f32 RN_NS(rn_conv2d_f32)
#define rn_conv2d_pack RN_NS(rn_conv2d_pack)
#define rn_conv2d_packed_f32 RN_NS(rn_conv2d_packed_f32)
#define rn_conv2d_packed_size RN_NS(rn_conv2d_packed_size)
#define rn_conv2d_scratch_size RN_NS(rn_conv2d_scratch_size)
#define rn_conv2d_supports RN_NS(rn_conv2d_supports)
#define rn_conv_blas_run RN_NS(rn_conv_blas_run)
#define rn_conv_blas_scratch_size RN_NS(rn_conv_blas_scratch_size)
#define rn_conv_depthwise_pack RN_NS(rn_conv_depthwise_pack)
#define rn_conv_depthwise_packed_floats RN_NS(rn_conv_depthwise_packed_floats)
#define rn_conv_depthwise_run RN_NS(rn_conv_depthwise_run)
#define rn_conv_depthwise_supports RN_NS(rn_conv_depthwise_supports)
#define rn_conv_gemm_pack RN_NS(rn_conv_gemm_pack)
#define rn_conv_gemm_pack_b RN_NS(rn_conv_gemm_pack_b)
#define rn_conv_gemm_packed_floats RN_NS(rn_conv_gemm_packed_floats)
#define rn_conv_gemm_phase_planes RN_NS(rn_conv_gemm_phase_planes)
#define rn_conv_gemm_plan RN_NS(rn_conv_gemm_plan)
#define rn_conv_gemm_run RN_NS(rn_conv_gemm_run)
#define rn_conv_gemm_scratch_size RN_NS(rn_conv_gemm_scratch_size)
#define rn_conv_gemm_supports RN_NS(rn_conv_gemm_supports)
#define rn_conv_winograd2_pack RN_NS(rn_conv_winograd2_pack)
#define rn_conv_winograd2_packed_floats RN_NS(rn_conv_winograd2_packed_floats)
#define rn_conv_winograd2_run RN_NS(rn_conv_winograd2_run)
#define rn_conv_winograd2_scratch_size RN_NS(rn_conv_winograd2_scratch_size)
#define rn_conv_winograd2_supports RN_NS(rn_conv_winograd2_supports)
#define rn_conv_winograd_pack RN_NS(rn_conv_winograd_pack)
#define rn_conv_winograd_packed_floats RN_NS(rn_conv_winograd_packed_floats)
#define rn_conv_winograd_run RN_NS(rn_conv_winograd_run)
#define rn_conv_winograd_scratch_size RN_NS(rn_conv_winograd_scratch_size)
#define rn_conv_winograd_supports RN_NS(rn_conv_winograd_supports)
#define rn_copy2d RN_NS(rn_copy2d)
#define rn_dequantize RN_NS(rn_dequantize)
#define rn_driver_main RN_NS(rn_driver_main)
#define rn_drv_alloc RN_NS(rn_drv_alloc)
#define rn_drv_bench RN_NS(rn_drv_bench)
#define rn_drv_elems RN_NS(rn_drv_elems)
#define rn_drv_error_name RN_NS(rn_drv_error_name)
#define rn_drv_format_shape RN_NS(rn_drv_format_shape)
#define rn_drv_print_top RN_NS(rn_drv_print_top)
#define rn_drv_profile RN_NS(rn_drv_profile)
#define rn_drv_prog_name RN_NS(rn_drv_prog_name)
#define rn_drv_read_labels RN_NS(rn_drv_read_labels)
#define rn_drv_report RN_NS(rn_drv_report)
#define rn_dtype_name RN_NS(rn_dtype_name)
#define rn_dtype_size RN_NS(rn_dtype_size)
#define rn_dynamic_quantize_u8 RN_NS(rn_dynamic_quantize_u8)
#define rn_epilogue_tile RN_NS(rn_epilogue_tile)
#define rn_f16_to_f32 RN_NS(rn_f16_to_f32)
#define rn_f32_to_bf16 RN_NS(rn_f32_to_bf16)
#define rn_f32_to_f16 RN_NS(rn_f32_to_f16)
#define rn_gather RN_NS(rn_gather)
#define rn_gemm_f32 RN_NS(rn_gemm_f32)
#define rn_gemm_nn_f32 RN_NS(rn_gemm_nn_f32)
#define rn_gemm_nt_f32 RN_NS(rn_gemm_nt_f32)
#define rn_global_avg_f32 RN_NS(rn_global_avg_f32)
#define rn_global_max_f32 RN_NS(rn_global_max_f32)
#define rn_matmul_f32 RN_NS(rn_matmul_f32)
#define rn_npy_read RN_NS(rn_npy_read)
#define rn_npy_write RN_NS(rn_npy_write)
#define rn_pad RN_NS(rn_pad)
#define rn_parallel_for RN_NS(rn_parallel_for)
#define rn_pool RN_NS(rn_pool)
#define rn_profile_hook RN_NS(rn_profile_hook)
#define rn_qconv2d_direct RN_NS(rn_qconv2d_direct)
#define rn_qconv2d_pack RN_NS(rn_qconv2d_pack)
#define rn_qconv2d_packed RN_NS(rn_qconv2d_packed)
#define rn_qconv2d_packed_size RN_NS(rn_qconv2d_packed_size)
#define rn_qconv2d_pair_safe_all RN_NS(rn_qconv2d_pair_safe_all)
#define rn_qconv2d_scratch_size RN_NS(rn_qconv2d_scratch_size)
#define rn_qconv2d_supports RN_NS(rn_qconv2d_supports)
#define rn_qgemm RN_NS(rn_qgemm)
#define rn_qlinear_add RN_NS(rn_qlinear_add)
#define rn_qlinear_conv2d RN_NS(rn_qlinear_conv2d)
#define rn_qlinear_global_avg RN_NS(rn_qlinear_global_avg)
#define rn_qlinear_matmul RN_NS(rn_qlinear_matmul)
#define rn_quantize RN_NS(rn_quantize)
#define rn_reduce_mean_f32 RN_NS(rn_reduce_mean_f32)
#define rn_scale_shift_f32 RN_NS(rn_scale_shift_f32)
#define rn_slice RN_NS(rn_slice)
#define rn_softmax_f32 RN_NS(rn_softmax_f32)
#define rn_threadpool_create RN_NS(rn_threadpool_create)
#define rn_threadpool_destroy RN_NS(rn_threadpool_destroy)
#define rn_threadpool_global RN_NS(rn_threadpool_global)
#define rn_threadpool_limit RN_NS(rn_threadpool_limit)
#define rn_threadpool_threads RN_NS(rn_threadpool_threads)
#define rn_tile_kernel RN_NS(rn_tile_kernel)
#define rn_transpose RN_NS(rn_transpose)
#define rn_unary_f32 RN_NS(rn_unary_f32)
#endif

#endif
