// How the app's images are named, in a module of its own (it imports nothing) because the policy
// pack checks the same names: images.ts builds into these repositories, tagged by content.

/** The repositories the app's images are built into (under todo:imageRepository when pushed). */
export const APP_IMAGE_REPOSITORIES = { backend: "todo-backend", frontend: "todo-frontend" } as const;

/** Hex digits of a content tag, the tag of every build (as `docker images` shows IDs). */
export const CONTENT_TAG_LENGTH = 12;
