// msgpackr loads its optional native accelerator with require('msgpackr-extract') and uses it only
// when the result is truthy; exporting null keeps msgpackr on its portable JavaScript decoder.
module.exports = null;
