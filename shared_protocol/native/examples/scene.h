/* A procedural moving scene rendered on the CPU (gradient + moving shapes). */
#ifndef LSD_EXAMPLE_SCENE_H
#define LSD_EXAMPLE_SCENE_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Renders frame number `frame` as 8-bit RGBA (bgra: swap R and B) into `pixels`
 * with `pitch` bytes per row. Deterministic: the same frame number gives the same bytes. */
void lsd_scene_render(uint8_t* pixels, uint32_t width, uint32_t height, uint32_t pitch, uint64_t frame, int bgra);

#ifdef __cplusplus
}
#endif
#endif
