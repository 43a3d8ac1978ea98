import type { NextConfig } from "next";

import { ACTION_BODY_LIMIT_BYTES } from "./src/lib/action-guard";
import { CONSTANT_SECURITY_HEADERS } from "./src/lib/response-headers";

const nextConfig: NextConfig = {
  output: "standalone",
  // The app folder is the tracing root, so the standalone server sits at
  // .next/standalone/server.js both here and inside the image build.
  outputFileTracingRoot: __dirname,
  // The app shows no raster images, so the image optimizer and its native
  // libvips (about 20 MB) stay out of the standalone output and the image.
  images: { unoptimized: true },
  outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
  poweredByHeader: false,
  // The same limit src/proxy.ts answers 413 for, before Next.js reads the body.
  experimental: { serverActions: { bodySizeLimit: ACTION_BODY_LIMIT_BYTES } },
  reactStrictMode: true,
  // The headers that depend on the request (CSP nonce, HSTS, caching) are set in src/proxy.ts.
  headers: () => Promise.resolve([{ source: "/:path*", headers: [...CONSTANT_SECURITY_HEADERS] }]),
};

export default nextConfig;
