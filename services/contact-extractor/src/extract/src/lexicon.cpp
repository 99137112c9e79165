#include "lexicon.hpp"

#include <string>
#include <unordered_set>

namespace leadpipe::extract::lexicon {
namespace {

using WordSet = std::unordered_set<std::string_view>;

// Splits a space-separated literal into a set. The literals have static
// storage, so string_views into them stay valid for the program's life.
WordSet make(std::initializer_list<std::string_view> parts) {
  WordSet s;
  for (std::string_view part : parts) {
    std::size_t i = 0;
    while (i < part.size()) {
      while (i < part.size() && (part[i] == ' ' || part[i] == '\n')) ++i;
      std::size_t j = i;
      while (j < part.size() && part[j] != ' ' && part[j] != '\n') ++j;
      if (j > i) s.insert(part.substr(i, j - i));
      i = j;
    }
  }
  return s;
}

// Deliberately excludes words that are also common given names (bagus,
// indah, putri, putra, jaya, eka, dwi, tri, bunga, will, may, grace, hope,
// joy, rosa, clara, luz, asha, kiran …): a stopword can never be a name.
const WordSet& stopwords() {
  static const WordSet s = make({
      // Indonesian / Malay: function words, particles, pronouns, question words
      "saya sy aku aq gue gw gua q ku kami kita kamu anda km lu lo loe dia mereka beliau",
      "yang yg dan dgn dengan atau ataupun tapi tp tetapi namun serta juga jg pun lagi lg",
      "di ke dari dr pada kepada untuk utk buat bwt bagi oleh dalam dlm luar atas bawah antara",
      "sama sm tentang ttg soal mengenai terkait perihal sebagai seperti kayak kyk kaya layaknya",
      "ini itu tsb tersebut sini situ sana mana apa apaan siapa kapan berapa brp bagaimana gimana gmn",
      "kenapa knp mengapa dimana dmn kemana kmn darimana mengapa adakah apakah bolehkah bisakah",
      "ada adalah ialah yaitu yakni ya iya iyaa yaa yup ok oke okay okey okee sip siap baik baiklah",
      "tidak tdk gak ga gk nggak ngga enggak engga ndak bukan belum blm jangan jgn",
      "sudah sdh udah udh telah pernah akan bakal sedang sdg lagi masih msh baru barusan",
      "mau mo mw ingin pengen pgn pingin hendak akan perlu butuh harus wajib bisa bs dapat dpt boleh",
      "tanya nanya bertanya tanyain menanyakan info informasi infonya minta mohon tolong",
      "cari mencari nyari lihat liat melihat cek ngecek tahu tau mengetahui kira pikir rasa merasa",
      "tertarik minat berminat penasaran bingung ragu yakin setuju paham ngerti mengerti lupa ingat",
      "daftar mendaftar pendaftaran registrasi kuliah sekolah belajar kerja bekerja tinggal menetap",
      "lulusan lulus alumni alumnus tamatan tamat siswa siswi murid mahasiswa mahasiswi pelajar santri",
      "guru dosen karyawan pegawai staf staff pekerja buruh petani pedagang pengusaha wiraswasta",
      "ibunya ayahnya bapaknya mamanya papanya orangtua ortu orang wali walinya keluarga suami istri",
      "anak anaknya adiknya kakaknya ponakan keponakan cucu saudara saudari teman temen kawan pacar",
      "mama papa mamah papah ayah bunda umi abi",
      "calon peserta pendaftar pemilik owner pasien pelanggan customer konsumen pembeli member",
      "kelas jurusan prodi program kursus les bimbel beasiswa biaya harga tarif ongkos brosur jadwal",
      "asal berasal domisili warga tinggal rumah kota kabupaten kab provinsi prov desa kecamatan kampung",
      "umur usia tahun thn bulan bln minggu hari pagi siang sore malam besok kemarin sekarang nanti",
      "selamat halo hallo helo hai hay haii haloo hy permisi maaf mf punten assalamualaikum salam",
      "kenal kenalan perkenalkan memperkenalkan terima kasih makasih trims tq thx",
      "sendiri semua banyak sedikit sangat sekali banget bgt cukup kurang lebih paling agak",
      "benar bener betul salah ralat koreksi keliru maksud maksudnya",
      "nomor nomer no nmr hp handphone hape wa whatsapp telp telepon tlp ponsel kontak alamat email surel",
      "masuk keluar datang pergi pulang ketemu bertemu kunjungan berkunjung booking pesan order beli bayar",
      "transfer cicil cicilan dp lunas gratis murah mahal promo diskon",
      "laki perempuan cowok cewek pria wanita gadis bujang lajang menikah nikah hamil",
      "satu dua tiga empat enam tujuh delapan sembilan sepuluh belas puluh ratus ribu juta",
      "sedang ikut ikutan mengikuti bergabung gabung join coba mencoba pakai pake kirim kirimkan",
      "dibantu bantu membantu bantuan hubungi menghubungi dihubungi telpon nelpon chat",
      "nih dong deh sih kok kan loh lho lah kah toh yah wkwk hehe hihi haha",
      "aja saja doang cuma cuman hanya hny kalau kalo klo kl kalu jika bila apabila agar supaya",
      "karena krn karna sebab jadi jd makanya sehingga walaupun meskipun",
      "teknik ekonomi hukum kedokteran desain informatika manajemen akuntansi psikologi pendidikan",
      "farmasi keperawatan kebidanan sastra bahasa komunikasi arsitektur sipil elektro mesin industri",
      "bisnis kesehatan gizi agama keguruan matematika fisika kimia biologi sains teknologi",
      "negeri swasta kampus fakultas universitas sekolah sma smk smp sd",
      "sakit sehat dokter klinik gigi kulit perawatan tindakan konsultasi cabut tambal",
      "senang bahagia sedih kecewa capek sibuk luang free",
      "lahir kelahiran asli pindahan rencana berencana harap berharap takut khawatir heran kaget baca dengar",
      "denger nonton dapet terima tanyakan menanyakan mencoba ambil mengambil lanjut melanjutkan pindah",
      "pilih memilih membayar habis selesai nunggu menunggu tunggu posisi lokasi kebetulan skrg barusan",
      "pengguna peminat sedang lagi pas waktu kok lengkap panggilan kandung",
      "telat tadi sempat langsung perawat bidan pns tni polri polisi suka izin ijin titip mengirim pribadi berumur",
      "dulu semester admin cs marketing sales hrd direktur manajer supervisor online offline reguler weekend",
      "sebentar bentar rahasia privasi skip anonim usah nanti buat",
      // English adjectives and participles that follow "I'm" / "it's"
      "expensive cheap fine great nice cool far near close late early urgent important confusing difficult",
      "easy hard possible impossible true false correct right wrong tired sick hungry ready free okay alright",
      "worried nervous scared sad upset angry bored lost stuck new old back home away around abroad overseas",
      "done finished married divorced pregnant retired unemployed graduated enrolled registered interested",
      "fine good bad better best worse same different also only just still already really quite pretty",
      "anonymous prefer later nope nah yup btw fyi lol omg asap",
      "sya saia ak abdi kulo kula nma gua ti bade naros hoyong",
      "punya cinta benci males malas kepingin memang emang justru malah terlanjur segera bersedia mampu sanggup",
      "tetap selalu jarang kadang biasa biasanya nelayan pasti mungkin barangkali kayaknya sepertinya tampaknya",
      "rupanya ternyata akhirnya awalnya sebenarnya sebetulnya intinya pokoknya terus trus lalu kemudian abis",
      "sambil sekalian sekaligus bareng bersama berdua sekeluarga certain definitely absolutely",
      "enfermeira enfermeiro advogado advogada engenheiro engenheira dentista psicologa psicologo vendedor",
      "vendedora empresario empresaria autonomo autonoma funcionario funcionaria servidor servidora",
      "gerente dona casa moradora morador nova novo estudando trabalhando procurando querendo",
      "daqui aposentado aposentada desempregado desempregada jovem menor maior velho velha iniciante",
      "beginner adult teenager minor senior citizen local foreigner international",
      // replies to "what's your name?" that are not names
      "stop berhenti unsubscribe unsub parar pare sair cancel cancelar claro test tes testing noted mantap",
      "private confidential secret guest user bebas terserah whatever anything nothing entah",
      // English
      "i i'm im me my mine myself you your yours we our us they them their he him his she her it its",
      "a an the this that these those there here where when what who whom whose why how which",
      "is am are was were be been being have has had do does did done not no nope yes yeah yep ya",
      "ok okay sure fine good great well so very really just also too only even still already yet",
      "and or but nor if then than because since as at in on of for to with by about into onto",
      "over under after before from up down out off again back away around through during",
      "interested interesting looking trying planning wondering hoping calling writing messaging",
      "texting asking inquiring enquiring reaching contacting going coming moving thinking considering",
      "currently actually basically probably maybe perhaps definitely certainly totally kind bit",
      "student students parent parents mother father mom dad mum mommy daddy guardian teacher",
      "doctor patient client customer new old young single married employed unemployed retired",
      "sorry glad happy excited keen eager ready available busy unsure confused curious afraid",
      "aware able unable based located living staying working studying applying graduating",
      "graduate undergraduate postgraduate alumni alumnus fresher freshman senior junior",
      "please pls plz thanks thank thx hi hello hey hiya dear greetings morning afternoon evening night",
      "regarding re inquiry enquiry admission admissions course courses program programme programs",
      "class classes fees fee price prices cost costs info information details detail brochure",
      "appointment booking consultation campus school college university institute academy",
      "son daughter kid kids child children wife husband friend brother sister family self",
      "need needing want wanting would could should will shall can may might must gonna wanna",
      "like love done finished completed enrolled registered years year aged age months month",
      "one two three four five six seven eight nine ten number phone mobile email contact whatsapp",
      "someone somebody anyone anybody everyone nobody person people guy lady man woman boy girl",
      "calling speaking talking chatting texting writing here there today tomorrow now later soon",
      "help helpful question questions query doubt problem issue",
      "interest apply applied enquire inquire",
      // Portuguese / Spanish
      "de do da dos das em no na nos nas num numa um uma uns umas o os as e ou mas que quem qual quais",
      "como onde quando porque porquê por para pra pro com sem sobre entre ate desde ao aos",
      "eu voce vc voces ele ela eles elas nos meu minha meus minhas seu sua seus suas teu tua",
      "aqui la ca ja ainda muito muita pouco pouca bem mal sim nao tambem so apenas tudo nada",
      "estudante aluno aluna mae pai responsavel filho filha esposa esposo marido amigo amiga",
      "interessado interessada interesse novo nova brasileiro brasileira professor professora",
      "medico medica paciente cliente formado formada casado casada solteiro solteira",
      "bom boa dia tarde noite oi ola obrigado obrigada valeu gostaria queria quero quer quis",
      "preciso precisa procurando buscando pensando tenho tem estou esta estava sou somos fui vou vai",
      "pode posso poderia saber informacao informacoes curso cursos faculdade escola universidade",
      "polo mensalidade valor preco matricula inscricao vestibular enem bolsa duvida duvidas",
      "aqui vim venho gostei adorei legal certo errado desculpa desculpe perdao",
      "hola buenos buenas gracias soy estoy quiero tengo",
      // Hinglish
      "mera meri mere naam hai hain hoon hu hun ho main mai mujhe mujhko hum humko aap aapka aapki apka",
      "ka ki ke ko se mein me par aur bhi nahi nahin haan han ji bhai bhaiya didi beta",
      "bol bola boli raha rahi rahe baat kar karna karni chahiye chahta chahti liye wala wali",
      "kya kaise kab kitna kitni kitne kaun kahan yahan wahan abhi kal aaj dhanyavad shukriya",
      "namaste namaskar accha achha acha theek thik sahi galat number batao bataiye bhejiye karo",
      "kijiye dijiye chahiye pata",
  });
  return s;
}

const WordSet& honorifics() {
  static const WordSet s = make({
      "kak ka kakak kk kaka mas mbak mba mbk bu ibu pak bapak bpk bang abang bg dek adek adik om tante",
      "teh aa akang kang neng cik koh ci sis bro gan agan min mimin sdr sdri saudara saudari",
      "hj haji h ustadz ustad ustadzah ir drg drh kh",
      "sr sra srta senhor senhora senhorita dona dom seu",
      "mr mrs ms miss mister madam maam mam sir dr dra drs prof",
      "shri smt shrimati kumari ji sahab saheb",
  });
  return s;
}

const WordSet& particles() {
  static const WordSet s = make({"da de do dos das di del della van von der den ten ter bin binti bte al el la le du"});
  return s;
}

const WordSet& org_words() {
  static const WordSet s = make({
      "sma smk smp sd sdn smpn sman smkn sdit smpit smait mts ma man mi tk paud pgtk kb",
      "sekolah universitas univ university institut institute politeknik polytechnic poltek akademi",
      "academy college school escola colegio faculdade universidade instituto ptn pts stie stikes",
      "stmik stkip pesantren ponpes pondok madrasah kampus campus highschool",
      "pt cv tbk ltd inc llc corp company toko shop store klinik clinic rs rsud rsia hospital hotel",
      "cafe kafe resto restaurant bank studio salon apotek pharmacy grup group",
      "negeri swasta internasional international yayasan foundation",
  });
  return s;
}

const WordSet& places() {
  static const WordSet s = make({
      // Indonesia
      "indonesia jakarta bandung surabaya semarang yogyakarta jogja jogjakarta yogya medan makassar",
      "palembang bali denpasar malang solo surakarta bogor depok bekasi tangerang batam pekanbaru",
      "padang pontianak balikpapan samarinda manado lampung aceh jambi bengkulu kupang ambon",
      "jayapura mataram cirebon tasikmalaya sukabumi purwokerto kediri jember madiun jawa java",
      "sumatra sumatera kalimantan sulawesi papua ntt ntb jabodetabek sidoarjo gresik klaten",
      "magelang pati kudus tegal pekalongan serang cilegon karawang cikarang garut cianjur",
      // Elsewhere in Asia
      "singapore singapura malaysia kuala lumpur johor penang thailand bangkok philippines manila",
      "india delhi mumbai bombay bangalore bengaluru chennai kolkata hyderabad pune lucknow jaipur",
      "ahmedabad kanpur nagpur patna bhopal indore noida gurgaon gurugram kerala kochi chandigarh",
      "punjab gujarat bihar rajasthan maharashtra karnataka tamil nadu uttar pradesh bengal",
      // Brazil / Portugal
      "brasil brazil sao janeiro belo horizonte brasilia fortaleza recife curitiba",
      "manaus porto alegre goiania belem campinas florianopolis niteroi guarulhos osasco",
      "sp rj mg bh poa minas gerais bahia parana pernambuco ceara goias lisboa portugal",
      // Other
      "usa america london australia japan japao jepang china korea europe eropa dubai",
  });
  return s;
}

const WordSet& greetings() {
  static const WordSet s = make({
      "hi hello hey hiya halo hallo helo hai hay haii haloo hy hola oi ola ei",
      "selamat pagi siang sore malam good morning afternoon evening day bom boa dia tarde noite",
      "namaste namaskar assalamualaikum assalamu'alaikum salam permisi punten dear greetings",
      "ok oke okay siap sip baik thanks terima kasih makasih obrigado obrigada",
  });
  return s;
}

}  // namespace

bool is_stopword(std::string_view w) { return stopwords().count(w) != 0; }
bool is_honorific(std::string_view w) { return honorifics().count(w) != 0; }
bool is_particle(std::string_view w) { return particles().count(w) != 0; }
bool is_org_word(std::string_view w) { return org_words().count(w) != 0; }
bool is_place(std::string_view w) { return places().count(w) != 0; }
bool is_greeting(std::string_view w) { return greetings().count(w) != 0; }

}  // namespace leadpipe::extract::lexicon
