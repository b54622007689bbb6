#include "scene.h"

#include <math.h>

static uint8_t clamp8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

void lsd_scene_render(uint8_t* pixels, uint32_t width, uint32_t height, uint32_t pitch, uint64_t frame, int bgra) {
    double t = (double)frame / 30.0;
    /* a sun disc, a bouncing box and a sweeping bar */
    double cx = (0.5 + 0.35 * sin(t * 1.3)) * width, cy = (0.45 + 0.25 * cos(t * 0.9)) * height;
    double r = 0.12 * (width < height ? width : height);
    double bx = fabs(fmod(t * 0.4, 2.0) - 1.0) * (width * 0.7), by = height * 0.6;
    double bw = width * 0.25, bh = height * 0.22;
    uint32_t bar = (uint32_t)(frame * 3 % (width ? width : 1));
    for (uint32_t y = 0; y < height; ++y) {
        uint8_t* row = pixels + (uint64_t)y * pitch;
        for (uint32_t x = 0; x < width; ++x) {
            int R = (int)(40 + 150 * y / (height ? height : 1));
            int G = (int)(60 + 120 * x / (width ? width : 1));
            int B = (int)(200 - 120 * y / (height ? height : 1));
            double dx = x - cx, dy = y - cy;
            if (dx * dx + dy * dy < r * r) {
                R = 250;
                G = 210;
                B = 60;
            }
            if (x >= bx && x < bx + bw && y >= by && y < by + bh) {
                R = 200;
                G = 40;
                B = 60 + (int)(frame % 128);
            }
            if (x >= bar && x < bar + 6) {
                R = 255 - R / 2;
                G = 255 - G / 2;
                B = 255 - B / 2;
            }
            if (((x / 16) + (y / 16)) % 2 == 0 && y > height * 0.85) {
                R /= 2;
                G /= 2;
                B /= 2;
            }
            uint8_t* p = row + 4 * (uint64_t)x;
            p[0] = clamp8(bgra ? B : R);
            p[1] = clamp8(G);
            p[2] = clamp8(bgra ? R : B);
            p[3] = 255;
        }
    }
}
