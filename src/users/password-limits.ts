/** Length limits of a password, in Unicode code points (API.md, "Password rules"). */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
