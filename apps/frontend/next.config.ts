import type { NextConfig } from "next";

// Headers that cost nothing and close off clickjacking, MIME sniffing and referrer leaks.
const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
  {
    key: "Content-Security-Policy",
    value: "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
  },
];

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
  reactStrictMode: true,
  headers: () => Promise.resolve([{ source: "/:path*", headers: securityHeaders }]),
};

export default nextConfig;
